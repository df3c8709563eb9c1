package server

import (
	"bytes"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"secondment/internal/i18n"
	"secondment/internal/lettertest"
)

// Fuzz targets of the input layer (issue #13), one per decoder: whatever
// arrives, no panic, and what a handler gets past the layer is plain text.
// `go test` runs their seeds; .ci/run fuzzes each briefly.

// fuzzServer is a server with only what checkInput's answers need, made
// once: loading the catalog per input would leave the fuzzer no time.
var fuzzServer = sync.OnceValue(func() *Server {
	return &Server{catalog: i18n.MustLoad(), log: slog.New(slog.DiscardHandler)}
})

// passes runs r through checkInput and reports whether it reached the
// handler, and with what form and query.
func passes(t *testing.T, r *http.Request) (bool, url.Values) {
	var reached bool
	var got url.Values
	h := fuzzServer().checkInput(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		got = url.Values{}
		for k, v := range r.URL.Query() {
			got[k] = v
		}
		for k, v := range r.PostForm {
			got[k] = append(got[k], v...)
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !reached && w.Code < 400 {
		t.Fatalf("refused with %d", w.Code)
	}
	return reached, got
}

func plain(t *testing.T, vs url.Values) {
	for k, list := range vs {
		if badText(k) {
			t.Fatalf("key %q passed", k)
		}
		for _, v := range list {
			if badText(v) {
				t.Fatalf("value %q of %q passed", v, k)
			}
		}
	}
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{"q=%E6%9D%8E", "a=%zz", "action=%00", "unit=%ff", "page=9223372036854775807", "x=%E2%80%AE", "a=1&a=2", "%=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/people", nil)
		r.URL.RawQuery = q
		if ok, got := passes(t, r); ok {
			plain(t, got)
		}
	})
}

func FuzzForm(f *testing.F) {
	for _, s := range []string{"login=%00&password=x", "task=%ff%fe", "task=%E5%B7%A1%E5%AF%9F%0A%09", "task=" + strings.Repeat("a", 100), "=", "a=%zz"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/secondments", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if ok, got := passes(t, r); ok {
			plain(t, got)
		}
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"task":"巡察"}`, `{"task":"巡\u0000察"}`, `{"task":"a"}{"x":1}`, "{\"task\":\"\xff\"}", `{"person_id":1e400}`, `[]`, `{"letter":null}`, `{"unknown":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/secondments", bytes.NewReader(body))
		var d apiDraft
		if err := readJSON(httptest.NewRecorder(), r, &d); err == nil {
			if field, bad := badJSONText(reflectOf(&d), ""); bad {
				t.Fatalf("%s passed with bad text", field)
			}
		}
	})
}

// FuzzUpload also feeds the letter's content checks (pdfcpu and the image
// decoders): its seeds are real letters and the attacks they refuse.
func FuzzUpload(f *testing.F) {
	seed := func(opinion, name string, letter []byte) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.SetBoundary("fuzzboundary")
		_ = mw.WriteField("opinion", opinion)
		fw, _ := mw.CreateFormFile("letter", name)
		_, _ = fw.Write(letter)
		_ = mw.Close()
		return b.Bytes()
	}
	pdf := lettertest.PDF()
	f.Add(seed("同意借调", "意见.pdf", pdf))
	f.Add(seed("\x00", "a.pdf", pdf))
	f.Add(seed("同意", "\u202e.pdf", pdf))
	f.Add(seed("同意", "意见.pdf", []byte("%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n")))
	f.Add(seed("同意", "意见.pdf", lettertest.Doc{Catalog: "/OpenAction 4 0 R", Objects: []string{"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"}}.Bytes()))
	f.Add(seed("同意", "意见.pdf", append(lettertest.PDF(), lettertest.ELF...)))
	f.Add(seed("同意", "意见.png", lettertest.PNG(16, 16)))
	f.Add(seed("同意", "意见.png", lettertest.PNGHeader(60000, 60000)))
	f.Add(seed("同意", "意见.jpg", lettertest.JPEG(16, 16)))
	f.Add([]byte("--fuzzboundary\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/secondments/1/actions/consent", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		form, _, err := readActionForm(httptest.NewRecorder(), r)
		if err == nil {
			for k, v := range form.Values {
				if badText(v) {
					t.Fatalf("%s passed with bad text %q", k, v)
				}
			}
		}
	})
}

func reflectOf(v any) reflect.Value { return reflect.ValueOf(v) }
