package server

import (
	"errors"
	"net/http"
	"strings"

	"secondment/internal/secondment"
	"secondment/web"
)

// maxFormBytes bounds a form post; uploads have their own limit.
const maxFormBytes = 64 << 10

// readForm parses a posted form into a web.Form holding the named fields,
// trimmed. A body that is too large or malformed is refused.
func readForm(w http.ResponseWriter, r *http.Request, fields ...string) (web.Form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return web.NewForm(), &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form"), Err: err}
	}
	f := web.NewForm()
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	return f, nil
}

// withErrors puts the field problems of an invalid-input error on f. It
// reports false for any other error, which the caller passes on.
func withErrors(f *web.Form, err error) bool {
	var de *secondment.Error
	if !errors.As(err, &de) || de.Code != secondment.EInvalid {
		return false
	}
	f.Summary = de.Message
	for _, fe := range de.Fields {
		if _, dup := f.Errors[fe.Field]; !dup {
			f.Errors[fe.Field] = fe.Message
		}
	}
	return true
}

// fieldErr is an invalid-input error on one field.
func fieldErr(field, msg string) error {
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
		Fields: []secondment.FieldError{{Field: field, Message: secondment.Msg(msg)}}}
}
