package server_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"secondment/internal/lettertest"
)

// A letter is parsed as what it claims on both skins (issue #13): the
// page's multipart form and the API's base64 get the same refusal on the
// letter field, in the clerk's words, and nothing is stored.
func TestLetterContentOnBothSkins(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	_, id := submitted(t, s)
	town := s.as(t, "xj-ks-akks.lender")
	a := apiCaller{t, s}
	tok := a.token("xj-ks-akks.lender")
	script := lettertest.Doc{Catalog: "/OpenAction 4 0 R", Objects: []string{"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"}}.Bytes()

	for _, c := range []struct {
		name, file string
		data       []byte
		zh, en     string
	}{
		{"%PDF- and HTML", "意见.pdf", []byte("%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"), "不是有效的 PDF 文件", "not a valid PDF"},
		{"a PDF running JavaScript", "意见.pdf", script, "含有脚本", "contains scripts"},
		{"an executable appended", "意见.pdf", append(lettertest.PDF(), lettertest.ELF...), "末尾附带了", "attached after its end"},
		{"a PNG claiming 60000×60000", "意见.png", lettertest.PNGHeader(60000, 60000), "12000 像素", "12000 pixels"},
		{"a truncated JPEG", "意见.jpg", lettertest.Truncated(lettertest.JPEG(200, 280)), "已损坏或不完整", "damaged or incomplete"},
	} {
		_, body := town.get("/secondments/" + id)
		res, body := town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {pageVersion(t, body)}, "opinion": {"同意"}}, c.file, c.data)
		if got := within(doc(t, body), "error-letter"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, c.zh) {
			t.Errorf("page, %s: %d, beside the letter %q", c.name, res.StatusCode, got)
		}
		town.lang = "en"
		_, body = town.get("/secondments/" + id)
		_, body = town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {pageVersion(t, body)}, "opinion": {"同意"}}, c.file, c.data)
		town.lang = ""
		if got := within(doc(t, body), "error-letter"); !strings.Contains(got, c.en) {
			t.Errorf("page in English, %s: beside the letter %q", c.name, got)
		}
		letter := map[string]any{"name": c.file, "content_base64": base64.StdEncoding.EncodeToString(c.data)}
		res, p := a.call(tok, "POST", "/api/v1/secondments/"+id+"/actions/consent", map[string]any{"opinion": "同意", "letter": letter})
		if got := fmt.Sprint(fieldErrors(p)["letter"]); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, c.en) {
			t.Errorf("API (in English), %s: %d, letter %q", c.name, res.StatusCode, got)
		}
	}
	if st := state(t, town, id); st != "awaiting_consent" {
		t.Fatalf("state %s after refused letters", st)
	}
	var n int
	_ = s.store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM attachment`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d refused letters stored", n)
	}

	// Over the limit on the API: a letter of 11 MB (its body within what
	// a JSON body may be) and one of 16 MB (a body over it, cut off while
	// read) both get the letter's 10 MB message, not "not valid JSON".
	for _, size := range []int{11 << 20, 16 << 20} {
		big := append(lettertest.PDF(), bytes.Repeat([]byte{' '}, size)...)
		letter := map[string]any{"name": "大.pdf", "content_base64": base64.StdEncoding.EncodeToString(big)}
		res, p := a.call(tok, "POST", "/api/v1/secondments/"+id+"/actions/consent", map[string]any{"opinion": "同意", "letter": letter})
		if got := fmt.Sprint(fieldErrors(p)["letter"]); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "10 MB") {
			t.Errorf("API, a letter of %d MB: %d %v", size>>20, res.StatusCode, p)
		}
	}

	// A real letter passes on both skins.
	for _, f := range []struct {
		name string
		data []byte
	}{{"扫描件.pdf", lettertest.ScanPDF()}, {"照片.jpg", lettertest.JPEG(600, 848)}} {
		data := base64.StdEncoding.EncodeToString(f.data)
		if _, p := a.call(tok, "POST", "/api/v1/secondments/"+id+"/actions/consent", map[string]any{"letter": map[string]any{"name": f.name, "content_base64": data}}); fieldErrors(p)["letter"] != nil {
			t.Errorf("API, %s refused: %v", f.name, p)
		}
	}
	_, body := town.get("/secondments/" + id)
	if res, _ := town.postMultipart("/secondments/"+id+"/actions/consent", url.Values{"version": {pageVersion(t, body)}, "opinion": {"同意"}}, "扫描件.pdf", lettertest.ScanPDF()); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("page, a scanned PDF: %d", res.StatusCode)
	}
}
