// Package browsertest drives a real headless Chromium from tests.
//
// One browser runs per test binary; it starts at the first New and stops
// when the package's TestMain returns. Each test gets its own browser
// context (like an incognito window: separate cookies and storage) with one
// tab, closed when the test ends, so tests may call t.Parallel.
//
// A package using it calls Main (or MainWith, around another package's
// Main) from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//	func TestMain(m *testing.M) { os.Exit(browsertest.MainWith(m, dbtest.Main)) }
//
// The browser is SECONDMENT_CHROMIUM when set (a path or a command name),
// else the first of chromium, chromium-browser and google-chrome on PATH.
// When there is none the test fails and names the Debian package to
// install; browser tests never skip.
//
// The helpers (Go, Fill, Click, Text, ...) take CSS selectors, wait up to
// StepTimeout, and fail the test with the selector and the page's URL. A
// test that fails leaves a screenshot, the page's HTML and the console
// messages in os.TempDir()/browsertest-<test name>/ and logs their paths.
// A Browser belongs to the test that made it: do not share it between
// goroutines.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// EnvChromium names the browser binary to use instead of the one found on
// PATH.
const EnvChromium = "SECONDMENT_CHROMIUM"

// candidates are the names looked up on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome"}

const (
	// TestTimeout bounds everything one test does in its tab.
	TestTimeout = 60 * time.Second
	// DefaultStepTimeout bounds one helper call (a navigation, a wait, a
	// click).
	DefaultStepTimeout = 10 * time.Second
	// startTimeout bounds the start of the browser and of each tab.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the graceful close of the browser.
	stopTimeout = 10 * time.Second
)

// WindowWidth and WindowHeight are the browser window's size in CSS pixels.
const (
	WindowWidth  = 1280
	WindowHeight = 900
)

var (
	active atomic.Bool // Main is running the tests

	once          sync.Once
	execPath      string
	startErr      error
	browserCtx    context.Context // the first tab; owns the browser process
	cancelBrowser context.CancelFunc
	cancelAlloc   context.CancelFunc
)

// Main runs the package's tests, then stops the browser if one started.
func Main(m *testing.M) int {
	return MainWith(m, (*testing.M).Run)
}

// MainWith is Main for a package whose TestMain also needs another
// package's Main: run is called to run the tests (it calls m.Run), and the
// browser stops after it returns. For example, with dbtest:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.MainWith(m, dbtest.Main)) }
func MainWith(m *testing.M, run func(*testing.M) int) int {
	active.Store(true)
	defer active.Store(false)
	code := run(m)
	stop()
	return code
}

// stop closes the browser gracefully; chromedp then removes its profile
// directory and kills any child process left.
func stop() {
	if browserCtx == nil {
		return
	}
	ctx, cancel := context.WithTimeout(browserCtx, stopTimeout)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "browsertest: stop the browser:", err)
	}
	cancelBrowser()
	cancelAlloc() // waits until the process is gone and its directory removed
}

// findChromium returns the browser binary to run.
func findChromium() (string, error) {
	if name := os.Getenv(EnvChromium); name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvChromium, name, err)
		}
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found: none of %s is on PATH; install the Debian package "+
		"(apt-get install chromium) or set %s to the browser's path", strings.Join(candidates, ", "), EnvChromium)
}

// allocatorOptions are chromedp's defaults (headless, no first run, no
// background networking, no sync, /tmp instead of /dev/shm, ...) plus what
// keeps a start quick on a closed network. chromedp makes a fresh profile
// directory under os.TempDir (chromedp-runner*) and removes it when the
// browser stops; as root it adds --no-sandbox itself, made explicit here.
func allocatorOptions(path string) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(WindowWidth, WindowHeight),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root
	}
	return opts
}

// start launches the browser; errors are kept for every later test.
func start() {
	execPath, startErr = findChromium()
	if startErr != nil {
		return
	}
	allocCtx, cancelA := chromedp.NewExecAllocator(context.Background(), allocatorOptions(execPath)...)
	ctx, cancelB := chromedp.NewContext(allocCtx)
	// The first Do binds the browser's life to ctx, so it gets no deadline;
	// a browser that never answers is given up on after startTimeout.
	if err := within(startTimeout, cancelB, func() error { return chromedp.Do(ctx) }); err != nil {
		cancelB()
		cancelA()
		startErr = fmt.Errorf("start %s: %w", execPath, err)
		return
	}
	browserCtx, cancelBrowser, cancelAlloc = ctx, cancelB, cancelA
}

// within runs f, and calls abort if it has not returned after d.
func within(d time.Duration, abort func(), f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		abort()
		<-done
		return fmt.Errorf("no answer after %s", d)
	}
}

// Browser is one test's tab in a browser context of its own.
type Browser struct {
	// StepTimeout bounds each helper call; DefaultStepTimeout unless set.
	StepTimeout time.Duration

	t       testing.TB
	tab     context.Context // lives until the test's cleanup
	ctx     context.Context // tab with the test's deadline
	timeout time.Duration   // the time ctx gives the test

	// suffix tells the artifacts of a test's second and later tabs apart.
	suffix string
	// axeLoaded: the tab loads axe-core into every page (Axe).
	axeLoaded bool

	mu      sync.Mutex
	console []string
}

// tabs counts the Browsers of each running test.
var (
	tabsMu sync.Mutex
	tabs   = map[testing.TB]int{}
)

// New opens a tab for t in a fresh browser context, starting the browser at
// the first call. The tab closes when the test ends.
func New(t testing.TB) *Browser {
	t.Helper()
	return NewWithTimeout(t, TestTimeout)
}

// NewWithTimeout is New for a tab that may take longer than TestTimeout
// in all, such as one that checks many pages on a busy machine.
func NewWithTimeout(t testing.TB, d time.Duration) *Browser {
	t.Helper()
	if !active.Load() {
		t.Fatal("browsertest: call browsertest.Main (or MainWith) from TestMain, so the browser stops when the tests end")
	}
	once.Do(start)
	if startErr != nil {
		t.Fatalf("browsertest: %v", startErr)
	}

	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab) // closes the tab and disposes of its browser context
	if err := within(startTimeout, cancelTab, func() error { return chromedp.Do(tab) }); err != nil {
		t.Fatalf("browsertest: open a tab in %s: %v", execPath, err)
	}
	ctx, cancel := context.WithTimeout(tab, d)
	t.Cleanup(cancel)
	b := &Browser{StepTimeout: DefaultStepTimeout, t: t, tab: tab, ctx: ctx, timeout: d}

	tabsMu.Lock()
	tabs[t]++
	n := tabs[t]
	tabsMu.Unlock()
	if n == 1 {
		// Artifacts of an earlier failed run would mislead.
		_ = os.RemoveAll(ArtifactDir(t))
		t.Cleanup(func() {
			tabsMu.Lock()
			delete(tabs, t)
			tabsMu.Unlock()
		})
	} else {
		b.suffix = fmt.Sprintf("-%d", n)
	}

	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			line := m.String()
			if m.URL != "" {
				line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			b.mu.Lock()
			b.console = append(b.console, line)
			b.mu.Unlock()
		}
	}()

	// Registered last, so it runs first, while the tab is still open.
	t.Cleanup(func() {
		if t.Failed() {
			b.saveArtifacts()
		}
	})
	return b
}

// Context is the tab's context with the test's deadline, for chromedp
// actions the helpers do not cover.
func (b *Browser) Context() context.Context { return b.ctx }

// step runs f with a context bounded by StepTimeout and fails the test if
// f fails.
func (b *Browser) step(what, sel string, f func(ctx context.Context) error) {
	b.t.Helper()
	d := b.StepTimeout
	if d <= 0 {
		d = DefaultStepTimeout
	}
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	err := f(ctx)
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		if b.ctx.Err() != nil {
			err = fmt.Errorf("the test's %s in the browser are up", b.timeout)
		} else {
			err = fmt.Errorf("timed out after %s", d)
		}
	}
	if sel != "" {
		b.t.Fatalf("browsertest: %s %q on %s: %v", what, sel, b.location(), err)
	}
	b.t.Fatalf("browsertest: %s on %s: %v", what, b.location(), err)
}

// location is the tab's URL for messages, even after the test's deadline.
func (b *Browser) location() string {
	ctx, cancel := context.WithTimeout(b.tab, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown page)"
	}
	return u
}

// Go opens url and waits until it has loaded.
func (b *Browser) Go(url string) {
	b.t.Helper()
	b.step("go to", url, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Navigate(url))
	})
}

// URL is the address of the page shown.
func (b *Browser) URL() string {
	b.t.Helper()
	var u string
	b.step("read the URL", "", func(ctx context.Context) (err error) {
		u, err = chromedp.Run(ctx, chromedp.Location())
		return err
	})
	return u
}

// Fill waits for the field to be visible, empties it and types value key
// by key.
func (b *Browser) Fill(selector, value string) {
	b.t.Helper()
	b.step("fill", selector, func(ctx context.Context) error {
		// Not chromedp.SetValue(sel, ""): v0.23 drops an empty string
		// argument on the way to the page (JSON v2 omitempty), so the page
		// sets "undefined" and the action fails.
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(selector)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const el = document.querySelector(%s);
				el.value = "";
				el.dispatchEvent(new Event("input", {bubbles: true}));
			})()`, jsString(selector))),
			chromedp.SendKeys(chromedp.CSS(selector), value),
		)
	})
}

// SetValue sets a field's value directly, as a date picker would (typing
// into <input type=date> depends on the browser's locale), and fires the
// input and change events.
func (b *Browser) SetValue(selector, value string) {
	b.t.Helper()
	b.step("set "+value+" in", selector, func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(selector)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const el = document.querySelector(%s);
				el.value = %s;
				el.dispatchEvent(new Event("input", {bubbles: true}));
				el.dispatchEvent(new Event("change", {bubbles: true}));
			})()`, jsString(selector), jsString(value))),
		)
	})
}

// Upload puts the files at paths into a file input.
func (b *Browser) Upload(selector string, paths ...string) {
	b.t.Helper()
	b.step("upload into", selector, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(selector), paths))
	})
}

// Download clicks a link that downloads a file, as a user would, and
// returns the path of the file the browser saved (in a directory of the
// test's), once it is complete.
func (b *Browser) Download(selector string) string {
	b.t.Helper()
	dir := b.t.TempDir()
	var name string
	b.step("download from", selector, func(ctx context.Context) error {
		done := make(chan string, 1)
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Downloads belong to the browser, per browser context: the
		// behaviour is set for the tab's context and its events come on
		// the browser's connection.
		if err := chromedp.ListenBrowser(lctx, func(ev any) {
			if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
				select {
				case done <- e.GUID:
				default:
				}
			}
		}); err != nil {
			return err
		}
		events := true
		if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			DownloadPath: dir, EventsEnabled: &events}); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
			return err
		}
		select {
		case guid := <-done:
			name = filepath.Join(dir, guid) // AllowAndName saves the file under its GUID
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return name
}

// Select chooses the option with value in a <select>, as a user would
// (the page sees input and change events).
func (b *Browser) Select(selector, value string) {
	b.t.Helper()
	b.step("select "+value+" in", selector, func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(selector)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				const el = document.querySelector(%s);
				if (![...el.options].some(o => o.value === %s)) throw new Error("no option with this value");
				el.value = %[2]s;
				el.dispatchEvent(new Event("input", {bubbles: true}));
				el.dispatchEvent(new Event("change", {bubbles: true}));
			})()`, jsString(selector), jsString(value))),
		)
	})
}

// Click waits for the element to be visible and clicks it. When the click
// starts a navigation (a link, a form's button), use ClickAndWait.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.step("click", selector, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector)))
	})
}

// ClickAndWait clicks a visible element that starts a navigation, such as
// a form's submit button, and waits until the new page (after redirects)
// has loaded. It returns the page's HTTP status.
func (b *Browser) ClickAndWait(selector string) int {
	b.t.Helper()
	var status int64
	b.step("click and wait for the next page", selector, func(ctx context.Context) error {
		res, err := chromedp.RunResponse(ctx,
			chromedp.Click(chromedp.CSS(selector)))
		if res != nil {
			status = res.Status
		}
		return err
	})
	return int(status)
}

// WaitVisible waits until the element is present and visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	b.step("wait for visible", selector, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector)))
	})
}

// Text waits for the element and returns its rendered text (innerText),
// trimmed; a hidden element's text is empty.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	var s string
	b.step("read the text of", selector, func(ctx context.Context) (err error) {
		s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
		return err
	})
	return strings.TrimSpace(s)
}

// Value waits for the form field and returns its current value (what a
// text area holds is its value, not its rendered text).
func (b *Browser) Value(selector string) string {
	b.t.Helper()
	var s string
	b.step("read the value of", selector, func(ctx context.Context) (err error) {
		s, err = chromedp.Run(ctx, chromedp.Value(chromedp.CSS(selector)))
		return err
	})
	return s
}

// Exists reports whether an element matches selector now, without waiting.
func (b *Browser) Exists(selector string) bool {
	b.t.Helper()
	var ok bool
	b.step("look for", selector, func(ctx context.Context) (err error) {
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](
			fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(selector))))
		return err
	})
	return ok
}

// SignIn signs in through the sign-in page of the service at base (no
// trailing slash) and waits for the header's viewer badge.
func (b *Browser) SignIn(base, login, password string) {
	b.t.Helper()
	b.Go(base + "/signin")
	b.Fill(`[data-testid=signin-form] input[name=login]`, login)
	b.Fill(`[data-testid=signin-form] input[name=password]`, password)
	b.ClickAndWait(`[data-testid=signin-submit]`)
	if b.Exists(`[data-testid=form-summary]`) {
		b.t.Fatalf("browsertest: sign-in as %q refused on %s: %s", login, b.location(), b.Text(`[data-testid=form-summary]`))
	}
	b.WaitVisible(`[data-testid=viewer]`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// Viewport emulates a screen of width × height CSS pixels (a phone's is
// 375 wide) for the pages loaded after it.
func (b *Browser) Viewport(width, height int64) {
	b.t.Helper()
	b.step(fmt.Sprintf("emulate a %d×%d screen", width, height), "", func(ctx context.Context) error {
		_, err := chromedp.Run(ctx, chromedp.EmulateViewport(width, height))
		return err
	})
}

// Overflow is how many CSS pixels the page is wider than its window: 0
// when nothing on it needs a sideways scroll of the whole page (a wide
// table scrolls in its own box).
func (b *Browser) Overflow() int {
	b.t.Helper()
	var n int
	b.step("measure the page's width", "", func(ctx context.Context) (err error) {
		n, err = chromedp.Run(ctx, chromedp.Evaluate[int](
			`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
		return err
	})
	return n
}
