package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue #13: bad input never gives a 500. Each request below once did
// (NUL or invalid UTF-8 reaching PostgreSQL, an integer out of range, a
// malformed query, a body over its route's size, trailing data after JSON,
// a header that is no text). Each now gets a 4xx that names what is wrong,
// and nothing is written.
func TestBadInputNeverGives500(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	clerk := s.as(t, "xj-ks-jw.borrower")
	auditor := s.as(t, "auditor")
	a := apiCaller{t, s}
	tok := a.token("xj-ks-jw.borrower")
	li := personID(t, s, "李传群")
	count := func() (n int) {
		_ = s.store.Pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM secondment) + (SELECT count(*) FROM audit_event WHERE action LIKE 'secondment.%')`).Scan(&n)
		return n
	}
	before := count()
	form := func(task string) string {
		return fmt.Sprintf("person=%d&kind=secondment&purpose=special_project&start=2024-03-11&end=2024-06-10&task=%s", li, task)
	}
	raw := func(c *client, method, path, ctype, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, _ := c.do(req)
		return res
	}
	api := func(path, body string, hdr ...string) *http.Response {
		return raw(s.anonymous(t), "POST", path, "application/json", body, append([]string{"Authorization", "Bearer " + tok}, hdr...)...)
	}
	draft := func(task string) string {
		b, _ := json.Marshal(map[string]any{"person_id": li, "kind": "secondment", "purpose": "special_project",
			"task": task, "start": "2024-03-11", "end": "2024-06-10"})
		return string(b)
	}
	big := strings.Repeat("a", 70<<10)
	for _, c := range []struct {
		name string
		res  func() *http.Response
	}{
		{"sign-in, NUL login", func() *http.Response {
			return raw(s.anonymous(t), "POST", "/signin", "application/x-www-form-urlencoded", "login=%00&password=x")
		}},
		{"sign-in, 0xFF login", func() *http.Response {
			return raw(s.anonymous(t), "POST", "/signin", "application/x-www-form-urlencoded", "login=%ff&password=x")
		}},
		{"form, NUL in the task", func() *http.Response {
			return raw(clerk, "POST", "/secondments", "application/x-www-form-urlencoded", form("%E5%B7%A1%00%E5%AF%9F"))
		}},
		{"form, 0xFF in the task", func() *http.Response {
			return raw(clerk, "POST", "/secondments", "application/x-www-form-urlencoded", form("%ff%fe"))
		}},
		{"form, a bidi override in the task", func() *http.Response {
			return raw(clerk, "POST", "/secondments", "application/x-www-form-urlencoded", form("%E2%80%AE%E5%B7%A1%E5%AF%9F"))
		}},
		{"API, NUL in the task", func() *http.Response { return api("/api/v1/secondments", draft("巡\u0000察")) }},
		{"API, a control character in the task", func() *http.Response { return api("/api/v1/secondments", draft("巡\u0007察")) }},
		{"API, trailing data after the JSON", func() *http.Response { return api("/api/v1/secondments", draft("巡察")+`{"x":1}`) }},
		{"API, Idempotency-Key not text", func() *http.Response {
			return api("/api/v1/secondments", draft("巡察"), "Idempotency-Key", "\xff\xfe")
		}},
		{"API, a start in year 9999", func() *http.Response {
			return api("/api/v1/secondments", strings.Replace(draft("巡察"), "2024-03-11", "9999-12-30", 1))
		}},
		{"API copy-in, NUL in the login", func() *http.Response {
			return api("/api/v1/secondments/1/cc", `{"login":"a\u0000b"}`)
		}},
		{"API copy-in, trailing data", func() *http.Response {
			return api("/api/v1/secondments/1/cc", `{"login":"x"}{}`)
		}},
		{"audit, NUL in the action filter", func() *http.Response { return raw(auditor, "GET", "/audit?action=%00", "", "") }},
		{"people, 0xFF in the unit filter", func() *http.Response { return raw(clerk, "GET", "/people?unit=%ff", "", "") }},
		{"a malformed query", func() *http.Response {
			return raw(clerk, "POST", "/secondments/1/urge?a=%zz", "application/x-www-form-urlencoded", "")
		}},
		{"a form body over 64 KB", func() *http.Response {
			return raw(clerk, "POST", "/secondments/1/urge", "application/x-www-form-urlencoded", "a="+big)
		}},
		{"an upload's field, NUL", func() *http.Response {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			_ = mw.WriteField("create_people", "\x00")
			fw, _ := mw.CreateFormFile("file", "存量.csv")
			_, _ = fw.Write([]byte("姓名\n"))
			_ = mw.Close()
			return raw(s.as(t, "xj-ks-zzb.registrar"), "POST", "/ledger/import", mw.FormDataContentType(), b.String())
		}},
		{"API, 0xFF in a JSON string", func() *http.Response {
			return api("/api/v1/secondments", strings.Replace(draft("巡察"), "巡察", "\xff\xfe", 1))
		}},
	} {
		res := c.res()
		if res.StatusCode >= 500 || res.StatusCode < 400 {
			t.Errorf("%s: %d, want a 4xx", c.name, res.StatusCode)
		}
	}
	// The field is named, in the API and on the page, in the user's words.
	res, p := a.call(tok, "POST", "/api/v1/secondments", map[string]any{"person_id": li, "kind": "secondment",
		"purpose": "special_project", "task": "巡\u0000察", "start": "2024-03-11", "end": "2024-06-10"})
	if res.StatusCode != http.StatusUnprocessableEntity || fieldErrors(p)["task"] == nil {
		t.Errorf("the API's NUL in the task: %d %v", res.StatusCode, p)
	}
	req, _ := http.NewRequest("POST", s.srv.URL+"/secondments", strings.NewReader(form("%00")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, body := clerk.do(req); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "无法使用的字符") {
		t.Errorf("the page's NUL in the task: %d", res.StatusCode)
	}
	if after := count(); after != before {
		t.Errorf("bad input wrote %d rows", after-before)
	}
}

// The input layer leaves a raw upload's body to the upload code: curl's
// --data-binary names it form-urlencoded, and the import still reads the
// file (issue #13's review).
func TestRawImportBodyIsNotAForm(t *testing.T) {
	t.Parallel()
	s := newSetupAt(t, true, kashgar)
	tok := apiCaller{t, s}.token("xj-ks-zzb.registrar")
	const importHeader = "姓名,人员编号,原单位（借出单位）,借用单位,类别,本地称谓,借调事由,具体任务,开始日期,结束日期,借调现状,返回日期,调入方式,审批文号,审批日期\n"
	csv := importHeader + "李传群,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-02-01,2023-04-30,已返回原单位,2023-04-30,,喀市组干字〔2023〕3号,2023-01-20\n"
	req, _ := http.NewRequest("POST", s.srv.URL+"/api/v1/stock/imports?name="+url.QueryEscape("存量.csv"), strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := s.anonymous(t).do(req)
	if res.StatusCode >= 400 || !strings.Contains(body, `"rows"`) {
		t.Errorf("a raw CSV sent as form-urlencoded: %d %s", res.StatusCode, body)
	}
}
