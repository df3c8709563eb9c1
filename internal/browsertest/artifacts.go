package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// What a browser test leaves for a human: screenshots and PDFs it asks for,
// and the page, its screenshot and console when it fails.

// Screenshot saves a PNG of the whole page (not only the window) at path.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	var png []byte
	b.step("take a screenshot", "", func(ctx context.Context) (err error) {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		return err
	})
	b.write(path, png)
}

// PrintPDF prints the page as the browser's print dialog would, on A4 with
// the backgrounds, and saves the PDF at path.
func (b *Browser) PrintPDF(path string) {
	b.t.Helper()
	var pdf []byte
	b.step("print to PDF", "", func(ctx context.Context) (err error) {
		pdf, err = chromedp.Run(ctx, chromedp.PrintToPDF(
			chromedp.PDFPaper(chromedp.PaperA4),
			chromedp.PDFPrintBackground(),
		))
		return err
	})
	b.write(path, pdf)
}

func (b *Browser) write(path string, data []byte) {
	b.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

// ArtifactDir is where a failed test's screenshot, HTML and console
// messages go: os.TempDir()/browsertest-<test name>. A test's second tab
// writes screenshot-2.png and so on.
func ArtifactDir(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, t.Name())
	return filepath.Join(os.TempDir(), "browsertest-"+name)
}

// saveArtifacts keeps what the tab showed when the test failed. It uses the
// tab without the test's deadline, which may be what failed it.
func (b *Browser) saveArtifacts() {
	dir := ArtifactDir(b.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("browsertest: artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
	defer cancel()
	var saved []string
	keep := func(name string, data []byte, err error) {
		ext := filepath.Ext(name)
		name = strings.TrimSuffix(name, ext) + b.suffix + ext
		if err != nil {
			b.t.Logf("browsertest: artifact %s: %v", name, err)
			return
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.t.Logf("browsertest: artifact %s: %v", name, err)
			return
		}
		saved = append(saved, p)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	keep("screenshot.png", png, err)
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	keep("page.html", []byte(html), err)
	b.mu.Lock()
	console := strings.Join(b.console, "\n")
	b.mu.Unlock()
	if console != "" {
		keep("console.txt", []byte(console+"\n"), nil)
	}
	if len(saved) > 0 {
		b.t.Logf("browsertest: the page at failure (%s):\n\t%s", b.location(), strings.Join(saved, "\n\t"))
	}
}
