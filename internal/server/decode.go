package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"secondment/internal/approval"
	"secondment/internal/secondment"
	"secondment/web"
)

// Pages and the API decode into the same use-case inputs (approval's
// DraftInput and ActInput): the page from its form's strings, the API from
// JSON. What the input means is the use case's to judge, once.

// draftFields are the request form's fields.
var draftFields = []string{"person", "kind", "alias", "purpose", "task", "start", "end", "justification", "programme",
	"salary_with", "self_opinion", "key_post",
	"idempotency_key", "version", "previous_id", "q", "then"}

// draftOfForm reads a request form. A person or term that is not a number
// is no choice at all, which the use case reports on its field.
func draftOfForm(f web.Form) approval.DraftInput {
	person, _ := strconv.ParseInt(f.Value("person"), 10, 64)
	previous, err := strconv.ParseInt(f.Value("previous_id"), 10, 64)
	if err != nil && f.Value("previous_id") != "" {
		previous = -1
	}
	return approval.DraftInput{PersonID: person, PreviousID: previous, Kind: f.Value("kind"), Alias: f.Value("alias"),
		Purpose: f.Value("purpose"), Task: f.Value("task"), Start: f.Value("start"), End: f.Value("end"),
		Justification: f.Value("justification"), Programme: f.Value("programme"), SalaryWith: f.Value("salary_with"),
		SelfOpinion: f.Value("self_opinion"), KeyPost: f.Value("key_post") == "on" || f.Value("key_post") == "true"}
}

// formOfDraft is a request form filled with in, for the edit and renewal
// forms.
func formOfDraft(in approval.DraftInput) web.Form {
	f := web.NewForm()
	for k, v := range map[string]string{"kind": in.Kind, "alias": in.Alias, "purpose": in.Purpose, "task": in.Task,
		"start": in.Start, "end": in.End, "justification": in.Justification, "programme": in.Programme,
		"salary_with": in.SalaryWith, "self_opinion": in.SelfOpinion} {
		f.Values[k] = v
	}
	if in.KeyPost {
		f.Values["key_post"] = "on"
	}
	if in.PersonID > 0 {
		f.Values["person"] = strconv.FormatInt(in.PersonID, 10)
	}
	if in.PreviousID > 0 {
		f.Values["previous_id"] = strconv.FormatInt(in.PreviousID, 10)
	}
	return f
}

// apiDraft is the body of a create, an edit or a check. PreviousID makes
// the request a renewal of that term (R6); an edit without it keeps the
// link.
type apiDraft struct {
	PersonID      int64    `json:"person_id"`
	PreviousID    *int64   `json:"previous_id"`
	Kind          string   `json:"kind"`
	Alias         string   `json:"alias"`
	Purpose       string   `json:"purpose"`
	Task          string   `json:"task"`
	Start         string   `json:"start"`
	End           string   `json:"end"`
	Justification string   `json:"justification"`
	Programme     string   `json:"programme"`
	SalaryWith    string   `json:"salary_with"`  // "lender" (the default) or "borrower"
	SelfOpinion   string   `json:"self_opinion"` // 本人意见
	KeyPost       bool     `json:"key_post"`     // a key or classified post (R16)
	Letter        *apiFile `json:"letter"`       // the borrowing unit's signed letter (借调函), at create or edit
}

// apiFile is a file in a JSON body, its content in standard base64.
type apiFile struct {
	Name    string `json:"name"`
	Content string `json:"content_base64"`
}

// file decodes and checks the file; nil when there is none.
func (f *apiFile) file() (*approval.File, error) {
	if f == nil {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(f.Content)
	if err != nil {
		return nil, uploadError("upload.error.type")
	}
	return checkLetter(f.Name, data)
}

// readDraft decodes the body of a create or an edit, its letter checked.
func readDraft(w http.ResponseWriter, r *http.Request) (approval.DraftInput, error) {
	in, letter, err := decodeDraft(w, r)
	if err == nil {
		in.Letter, err = letter.file()
	}
	return in, err
}

// readDraftToCheck decodes the body of a check, which judges the form and
// leaves any letter alone (as the page's check does).
func readDraftToCheck(w http.ResponseWriter, r *http.Request) (approval.DraftInput, error) {
	in, _, err := decodeDraft(w, r)
	return in, err
}

// decodeDraft decodes a draft's body; its letter is left undecoded.
func decodeDraft(w http.ResponseWriter, r *http.Request) (approval.DraftInput, *apiFile, error) {
	var body apiDraft
	err := readJSON(w, r, &body)
	return body.input(), body.Letter, err
}

// readDraftForm reads the request form, which may carry the borrowing
// unit's letter.
func readDraftForm(w http.ResponseWriter, r *http.Request) (web.Form, *approval.File, error) {
	return readLetterForm(w, r, draftFields...)
}

func (b apiDraft) input() approval.DraftInput {
	in := approval.DraftInput{PersonID: b.PersonID, Kind: b.Kind, Alias: b.Alias, Purpose: b.Purpose, Task: b.Task,
		Start: b.Start, End: b.End, Justification: b.Justification, Programme: b.Programme, SalaryWith: b.SalaryWith,
		SelfOpinion: b.SelfOpinion, KeyPost: b.KeyPost}
	if b.PreviousID != nil {
		in.PreviousID = *b.PreviousID
	}
	return in
}

// actOfForm reads an action's form (multipart when it carries a letter)
// into the use case's input, with the form kept to show again.
func actOfForm(w http.ResponseWriter, r *http.Request, action secondment.Action) (approval.ActInput, web.Form, error) {
	f, letter, err := readActionForm(w, r)
	in := approval.ActInput{Action: action}
	if err != nil {
		return in, f, err
	}
	for _, k := range []string{"transfer_method", "leadership", "posts_filled"} {
		f.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	in.IfVersion, _ = strconv.Atoi(f.Value("version"))
	in.Opinion, in.Handover, in.ReturnedOn, in.Evaluation = f.Value("opinion"), f.Value("handover"), f.Value("date"), f.Value("evaluation")
	in.TransferMethod = f.Value("transfer_method")
	switch f.Value("leadership") {
	case "", "0", "false", "off":
	case "1", "true", "on":
		in.Leadership = true
	default:
		return in, f, fieldErr("leadership", "term.error.leadership")
	}
	if v := f.Value("posts_filled"); v != "" {
		if in.PostsFilled, err = strconv.Atoi(v); err != nil {
			in.PostsFilled = -1
		}
	}
	in.Letter = letter
	return in, f, nil
}

// apiAction is the body of an action call. A transfer-in (R12) names its
// method, whether it fills a leadership post and how many leadership posts
// the borrowing unit has filled now; the org dept's approval of it says the
// posts filled again.
type apiAction struct {
	Opinion        string   `json:"opinion"`
	ReturnedOn     string   `json:"returned_on"`
	Handover       string   `json:"handover"`
	Evaluation     string   `json:"evaluation"`
	TransferMethod string   `json:"transfer_method"`
	Leadership     bool     `json:"leadership"`
	PostsFilled    *int     `json:"posts_filled"`
	Letter         *apiFile `json:"letter"`
}

func (b apiAction) input(action secondment.Action, ifVersion int) (approval.ActInput, error) {
	in := approval.ActInput{Action: action, IfVersion: ifVersion, Opinion: b.Opinion, ReturnedOn: b.ReturnedOn,
		Handover: b.Handover, Evaluation: b.Evaluation, TransferMethod: b.TransferMethod, Leadership: b.Leadership}
	if b.PostsFilled != nil {
		in.PostsFilled = *b.PostsFilled
	}
	var err error
	in.Letter, err = b.Letter.file()
	return in, err
}

// readJSON decodes a request body, refusing unknown fields and excess.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLetterBytes*2))
	if err != nil {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.form_too_large"), Err: err}
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD without a word:
	// it is refused instead, as in a form.
	if !utf8.Valid(body) {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json_utf8")}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json"), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.json_trailing")}
	}
	if field, bad := badJSONText(reflect.ValueOf(v), ""); bad {
		return textError(field)
	}
	return nil
}

// badJSONText finds a string in v, decoded from JSON, that is no plain
// text (badText), and names it by its JSON path: task, letter.name.
func badJSONText(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return badJSONText(v.Elem(), path)
	case reflect.String:
		return path, badText(v.String())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if p, bad := badJSONText(v.Field(i), name); bad {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // raw bytes (json.RawMessage) are checked where they are decoded
		}
		for i := range v.Len() {
			if p, bad := badJSONText(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); bad {
				return p, true
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if k.Kind() == reflect.String && badText(k.String()) {
				return path, true
			}
			if p, bad := badJSONText(v.MapIndex(k), path+"."+fmt.Sprint(k)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// ifMatch reads the version an If-Match header names; 0 when absent.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v < 1 {
		return 0, fieldErr("if_match", "error.if_match")
	}
	return v, nil
}
