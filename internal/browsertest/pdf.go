package browsertest

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// PDFText reads back the text of the PDF at path and counts its pages,
// in reading order (a table's cells one after the other), with poppler's
// pdftotext and pdfinfo (Debian package poppler-utils,
// which .ci/run installs): a printed form is checked as the paper would
// read, not as the HTML was meant. Without the tools the test fails,
// naming the package; it never passes unchecked.
func PDFText(t testing.TB, path string) (text string, pages int) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("browsertest: %s not found: install poppler-utils (apt-get install poppler-utils; .ci/run installs it)", tool)
		}
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("browsertest: pdftotext %s: %v", path, err)
	}
	info, err := exec.Command("pdfinfo", path).Output()
	if err != nil {
		t.Fatalf("browsertest: pdfinfo %s: %v", path, err)
	}
	m := pagesLine.FindSubmatch(info)
	if m == nil {
		t.Fatalf("browsertest: pdfinfo %s gave no page count: %s", path, info)
	}
	pages, _ = strconv.Atoi(string(m[1]))
	return string(out), pages
}

var pagesLine = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
