package server

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"secondment/internal/secondment"
)

// One input layer (issue #13): whatever a form, a query or a header brings
// is checked as text before any handler reads it, so invalid UTF-8, NUL,
// control characters and bidi overrides never reach PostgreSQL (which
// refused them with a 500) or a printed form (where an override reverses
// what a reader sees). A bad value is a 422 naming its field, in the
// user's language; a malformed query a 400; a form over its size a 413.

// badText reports whether v is no plain text: invalid UTF-8, a C0 or C1
// control character other than tab, line breaks, vertical tab and form
// feed, or a bidi embedding, override or isolate.
func badText(v string) bool {
	if !utf8.ValidString(v) {
		return true
	}
	for _, r := range v {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			// whitespace text pasted from documents may hold
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return true
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return true
		}
	}
	return false
}

// textError is the 422 of a field whose value is no plain text.
func textError(field string) error {
	if !utf8.ValidString(field) || badText(field) {
		field = "?" // the name itself is bad: not echoed
	}
	// The message says what is wrong, for a page that shows no fields;
	// the field names where, for the API and a form that does.
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.text"),
		Fields: []secondment.FieldError{{Field: field, Message: secondment.Msg("error.text")}}}
}

// checkValues finds the first key or value of vs that is no plain text.
func checkValues(vs url.Values) error {
	for k, list := range vs {
		if badText(k) {
			return textError(k)
		}
		for _, v := range list {
			if badText(v) {
				return textError(k)
			}
		}
	}
	return nil
}

// rawUploads are the routes whose body may be the file itself, whatever
// type a client names (curl --data-binary says form-urlencoded): their
// upload code reads and checks it, not the form check.
var rawUploads = map[string]bool{"/ledger/import": true, "/people/import": true,
	"/api/v1/stock/imports": true, "/api/v1/people/imports": true}

// maxKeyBytes bounds an Idempotency-Key.
const maxKeyBytes = 200

// checkInput checks the query, the form body (URL-encoded; a multipart
// upload's fields are checked where it is read) and the Idempotency-Key of
// every request before it reaches a handler.
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			s.failStatus(w, r, http.StatusBadRequest, &secondment.Error{Code: secondment.EInvalid,
				Message: secondment.Msg("error.query"), Err: err})
			return
		}
		if err := checkValues(q); err != nil {
			s.fail(w, r, err)
			return
		}
		if k := r.Header.Get("Idempotency-Key"); k != "" && !printableASCII(k) {
			s.fail(w, r, textError("idempotency_key"))
			return
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			ct := r.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !rawUploads[r.URL.Path] {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
				if err := r.ParseForm(); err != nil {
					code, msg := http.StatusBadRequest, "error.form"
					if _, tooBig := err.(*http.MaxBytesError); tooBig || strings.Contains(err.Error(), "too large") {
						code, msg = http.StatusRequestEntityTooLarge, "error.form_too_large"
					}
					s.failStatus(w, r, code, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg(msg), Err: err})
					return
				}
				if err := checkValues(r.PostForm); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// printableASCII reports whether v is printable ASCII of at most
// maxKeyBytes bytes: an Idempotency-Key is a token, not text.
func printableASCII(v string) bool {
	if len(v) > maxKeyBytes {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkMultipart checks a parsed multipart form's fields and file names as
// checkInput checks a URL-encoded one.
func checkMultipart(r *http.Request) error {
	if r.MultipartForm == nil {
		return nil
	}
	if err := checkValues(r.MultipartForm.Value); err != nil {
		return err
	}
	for field, files := range r.MultipartForm.File {
		for _, fh := range files {
			if badText(fh.Filename) {
				return textError(field)
			}
		}
	}
	return nil
}
