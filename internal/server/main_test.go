package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// demoPassword is every demo account's password in these tests.
const demoPassword = "Demo-Password-2026"

// cheap hashes fast; tests create many accounts.
var cheap = auth.Hasher{Params: auth.CheapParams}

// clock is a test clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup is a server on a fresh database, with the demo data and accounts
// when asked for.
type setup struct {
	store  *postgres.Store
	url    string // the database's, for a test playing its superuser
	owner  string // the schema owner's URL
	srv    *httptest.Server
	server *server.Server
	clock  *clock
}

func newSetup(t *testing.T, withDemo bool) *setup {
	t.Helper()
	return newSetupAt(t, withDemo, time.Date(2024, time.May, 6, 9, 0, 0, 0, secondment.Shanghai))
}

// newSetupAt is newSetup with the server's clock starting at now.
func newSetupAt(t *testing.T, withDemo bool, now time.Time) *setup {
	t.Helper()
	return newSetupWith(t, withDemo, now, nil)
}

// newSetupWith is newSetupAt with the server's dependencies changed by
// deps first (when not nil).
func newSetupWith(t *testing.T, withDemo bool, now time.Time, deps func(*server.Deps)) *setup {
	t.Helper()
	dburl, ownerURL := dbtest.URLs(t)
	store := &postgres.Store{Pool: dbtest.Pool(t, dburl)}
	c := &clock{t: now}
	if withDemo {
		if _, err := demo.Load(context.Background(), store); err != nil {
			t.Fatal(err)
		}
		if _, err := demo.LoadUsers(context.Background(), store, cheap, demoPassword, now); err != nil {
			t.Fatal(err)
		}
	}
	d := server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: c, Hasher: cheap, Version: "test"}
	if deps != nil {
		deps(&d)
	}
	sv := server.New(d)
	srv := httptest.NewServer(sv.Handler())
	t.Cleanup(srv.Close)
	return &setup{store: store, srv: srv, server: sv, clock: c, url: dburl, owner: ownerURL}
}

// client is a browser: it keeps cookies and does not follow redirects, so
// tests see each one.
type client struct {
	t    *testing.T
	s    *setup
	http *http.Client
	lang string
}

func (s *setup) anonymous(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, s: s, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// as signs in with login and the demo password.
func (s *setup) as(t *testing.T, login string) *client {
	t.Helper()
	c := s.anonymous(t)
	res, _ := c.post("/signin", url.Values{"login": {login}, "password": {demoPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") == "/account/password" {
		t.Fatalf("sign-in as %s: %d to %q", login, res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	if c.lang != "" {
		req.AddCookie(&http.Cookie{Name: "lang", Value: c.lang})
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.s.srv.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// get is an anonymous GET with an optional language cookie.
func (s *setup) get(t *testing.T, path, lang string) (*http.Response, string) {
	t.Helper()
	c := s.anonymous(t)
	c.lang = lang
	return c.get(path)
}

// doc parses an HTML page.
func doc(t *testing.T, body string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// byTestID returns the elements whose data-testid is id, in document order.
func byTestID(root *html.Node, id string) []*html.Node {
	var out []*html.Node
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && attr(n, "data-testid") == id {
			out = append(out, n)
		}
	}
	return out
}

// text is the trimmed text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// within returns the text of the first descendant of n with data-testid id.
func within(n *html.Node, id string) string {
	if found := byTestID(n, id); len(found) > 0 {
		return text(found[0])
	}
	return ""
}
