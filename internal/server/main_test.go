package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"secondment/internal/dbtest"
	"secondment/internal/demo"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/internal/server"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// setup is a server on a fresh database holding the demo data.
type setup struct {
	store *postgres.Store
	srv   *httptest.Server
}

func newSetup(t *testing.T, withDemo bool) *setup {
	t.Helper()
	return newSetupAt(t, withDemo, secondment.SystemClock{})
}

// newSetupAt is newSetup with the server's clock fixed.
func newSetupAt(t *testing.T, withDemo bool, clock secondment.Clock) *setup {
	t.Helper()
	store := dbtest.Store(t)
	if withDemo {
		if _, err := demo.Load(context.Background(), store); err != nil {
			t.Fatal(err)
		}
	}
	h := server.New(server.Deps{Store: store, Catalog: i18n.MustLoad(), Clock: clock, Version: "test"}).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &setup{store: store, srv: srv}
}

// get fetches path, with an optional language cookie, and returns the
// response with its body read.
func (s *setup) get(t *testing.T, path, lang string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if lang != "" {
		req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
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
