package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"secondment/internal/approval"
	"secondment/internal/secondment"
	"secondment/web"
)

// MaxLetterBytes bounds a scanned letter (the lending unit's written
// opinion).
const MaxLetterBytes = 10 << 20

// letterTypes are the accepted kinds of scanned letter, as their content
// (not their name or the browser's claim) shows them to be.
var letterTypes = map[string]string{
	"application/pdf": ".pdf",
	"image/jpeg":      ".jpg",
	"image/png":       ".png",
}

func uploadError(msg string, kv ...any) error { return fileError("letter", msg, kv...) }

// fileError is a problem with the file of form field field.
func fileError(field, msg string, kv ...any) error {
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
		Fields: []secondment.FieldError{{Field: field, Message: secondment.Msg(msg, kv...)}}}
}

// readActionForm reads an action's form, which is multipart when it can
// carry a letter. The letter, if any, is checked by its content and size.
func readActionForm(w http.ResponseWriter, r *http.Request) (web.Form, *approval.File, error) {
	return readLetterForm(w, r, "opinion", "version", "date", "handover", "evaluation")
}

// readLetterForm reads a form of fields that may carry a file in its
// "letter" field (an action's, or the request form's).
func readLetterForm(w http.ResponseWriter, r *http.Request, fields ...string) (web.Form, *approval.File, error) {
	f, err := readUploadFields(w, r, fields...)
	if err != nil {
		return f, nil, err
	}
	a, err := letterOf(r)
	return f, a, err
}

// readUploadFields reads fields of a form that may be multipart (carry a
// file), leaving its files alone.
func readUploadFields(w http.ResponseWriter, r *http.Request, fields ...string) (web.Form, error) {
	f := web.NewForm()
	r.Body = http.MaxBytesReader(w, r.Body, MaxLetterBytes+maxFormBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return f, uploadError("upload.error.size", "MaxMB", MaxLetterBytes>>20)
		}
		return f, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form"), Err: err}
	}
	if err := checkMultipart(r); err != nil {
		return f, err
	}
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	return f, nil
}

// letterOf is the letter of a form readUploadFields read, checked by its
// content and size; nil when none was chosen.
func letterOf(r *http.Request) (*approval.File, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File["letter"]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File["letter"][0]
	if fh.Size == 0 {
		return nil, nil // an empty file input: no letter
	}
	if fh.Size > MaxLetterBytes {
		return nil, uploadError("upload.error.size", "MaxMB", MaxLetterBytes>>20)
	}
	file, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxLetterBytes+1))
	if err != nil {
		return nil, err
	}
	return checkLetter(fh.Filename, data)
}

// checkLetter accepts a PDF, JPEG or PNG of at most MaxLetterBytes, judged
// by its content: a renamed executable is refused whatever it is called,
// and a file is parsed as the kind its first bytes claim (checkContent).
// The stored name gets the extension of the real type.
func checkLetter(name string, data []byte) (*approval.File, error) {
	return checkUpload("letter", name, data)
}

// checkUpload is checkLetter for the file of form field field (evidence of
// a rectification is scanned the same way).
func checkUpload(field, name string, data []byte) (*approval.File, error) {
	if len(data) == 0 {
		return nil, fileError(field, "upload.error.type")
	}
	if len(data) > MaxLetterBytes {
		return nil, fileError(field, "upload.error.size", "MaxMB", MaxLetterBytes>>20)
	}
	kind := sniff(data)
	ext, ok := letterTypes[kind]
	if !ok {
		return nil, fileError(field, "upload.error.type")
	}
	if err := checkContent(field, kind, data); err != nil {
		return nil, err
	}
	name = filepath.Base(name)
	if !utf8.ValidString(name) || name == "." || name == "/" || len(name) > 200 {
		name = field + ext
	}
	if !strings.EqualFold(filepath.Ext(name), ext) && !(ext == ".jpg" && strings.EqualFold(filepath.Ext(name), ".jpeg")) {
		name = strings.TrimSuffix(name, filepath.Ext(name)) + ext
	}
	return &approval.File{Name: name, ContentType: kind, Data: data}, nil
}

// sniff tells the type of a file from its first bytes. A PDF must start
// with its signature; http.DetectContentType knows JPEG and PNG.
func sniff(data []byte) string {
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		return "application/pdf"
	}
	return http.DetectContentType(data)
}
