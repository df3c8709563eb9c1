// Package stock reads existing secondments (存量) from a spreadsheet: the
// import template's columns, and each row turned into the fields of a
// registration, with per-cell problems named by column. It resolves
// nothing (units and people are named as the clerk wrote them) and judges
// nothing: that is the use case's.
package stock

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/internal/sheet"
)

// Column is one column of the import template.
type Column struct {
	Field    string // the registration field it fills
	Required bool   // the header must be there (a cell may still be empty)
}

// Columns are the template's, in order. A header is the column's message
// (import.col.<field>) in Chinese or English.
var Columns = []Column{
	{"person", true}, {"person_code", false}, {"lender", true}, {"borrower", true},
	{"kind", false}, {"alias", false}, {"purpose", true}, {"task", true},
	{"start", true}, {"end", true}, {"status", true}, {"returned_on", false},
	{"transfer_method", false}, {"approval_ref", false}, {"approved_on", false},
}

// HeaderID is the message ID of a field's column header.
func HeaderID(field string) string { return "import.col." + field }

// dateFields are read as dates (text in the forms offices type, or an
// Excel date).
var dateFields = []string{"start", "end", "returned_on", "approved_on"}

// Row is one data row as read: the fields by name ("" when empty), and the
// problems of its cells. Dates are YYYY-MM-DD; enumerations are codes.
type Row struct {
	Line     int
	Fields   map[string]string
	Problems []Problem
}

// Problem is what is wrong with one cell.
type Problem struct {
	Field   string // the column's field; "" for the row as a whole
	Message secondment.Message
}

// MaxRows bounds an import, and MaxBytes its file.
const (
	MaxRows  = 10000
	MaxBytes = 10 << 20
)

// FileError is a whole-file problem: nothing of it is used.
func FileError(err error) error {
	var se *sheet.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := secondment.Msg("import.error." + se.Code)
	switch se.Code {
	case sheet.ErrTooLarge:
		msg = secondment.Msg("import.error.too_large", "MaxMB", MaxBytes>>20)
	case sheet.ErrTooMany:
		msg = secondment.Msg("import.error.too_many_rows", "Max", MaxRows)
	case sheet.ErrBroken:
		msg = secondment.Msg("import.error.broken", "Line", se.Line)
	case sheet.ErrHeader:
		msg = secondment.Msg("import.error.header", "Name", se.Detail)
	}
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
		Fields: []secondment.FieldError{{Field: "file", Message: msg}}, Err: err}
}

// Read parses an uploaded file into rows. A file it cannot use at all (a
// wrong type, too big, broken, without the required columns) is an
// EInvalid error on the field "file" that says why.
func Read(name string, r io.Reader) ([]Row, error) {
	t, err := sheet.Read(name, r, sheet.Limits{MaxBytes: MaxBytes, MaxRows: MaxRows})
	if err != nil {
		return nil, FileError(err)
	}
	cols := map[string]int{}
	var missing []string
	for _, c := range Columns {
		i := -1
		for _, lang := range i18n.Supported {
			if i = t.Column(label(lang, HeaderID(c.Field))); i >= 0 {
				break
			}
		}
		if i < 0 && c.Required {
			missing = append(missing, label(i18n.Chinese, HeaderID(c.Field)))
		}
		cols[c.Field] = i
	}
	if len(missing) > 0 {
		return nil, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "file", Message: secondment.Msg("import.error.columns",
				"Columns", strings.Join(missing, "、"))}}}
	}
	rows := make([]Row, 0, len(t.Rows))
	for _, tr := range t.Rows {
		row := Row{Line: tr.Line, Fields: map[string]string{}}
		for _, c := range Columns {
			i := cols[c.Field]
			if i < 0 || i >= len(tr.Cells) {
				continue
			}
			cell := tr.Cells[i]
			if cell.Formula {
				// A formula's value is whatever the sheet computed when
				// it was last saved: a record is typed, not computed.
				row.Problems = append(row.Problems, Problem{c.Field, secondment.Msg("import.error.formula")})
				continue
			}
			v := cell.Text
			if v == "" && !cell.Numeric {
				continue
			}
			switch {
			case slices.Contains(dateFields, c.Field):
				d, err := sheet.Date(cell)
				if err != nil {
					row.Problems = append(row.Problems, Problem{c.Field, secondment.Msg("import.error.date", "Value", v)})
					continue
				}
				v = d.Format(secondment.DateLayout)
			case enums[c.Field] != nil:
				code, ok := enums[c.Field][normal(v)]
				if !ok {
					row.Problems = append(row.Problems, Problem{c.Field, secondment.Msg("import.error.value", "Value", v)})
					continue
				}
				v = code
			}
			row.Fields[c.Field] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

var catalog = i18n.MustLoad()

func label(lang, id string) string { return catalog.Localizer(lang).T(id) }

// normal folds what may differ between what a clerk types and a label.
func normal(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

// enums map, per enumerated field, every accepted spelling (the code, and
// its label in each language) to the code.
var enums = map[string]map[string]string{
	"kind":            spellings(secondment.AllKinds, func(v secondment.Kind) secondment.Message { return v.Message() }),
	"alias":           spellings(secondment.AllAliases, func(v secondment.Alias) secondment.Message { return v.Message() }),
	"purpose":         spellings(secondment.AllPurposes, func(v secondment.Purpose) secondment.Message { return v.Message() }),
	"status":          spellings(secondment.AllStockStatuses, func(v secondment.StockStatus) secondment.Message { return v.Message() }),
	"transfer_method": spellings(secondment.AllTransferMethods, func(v secondment.TransferMethod) secondment.Message { return v.Message() }),
}

func spellings[T ~string](all []T, msg func(T) secondment.Message) map[string]string {
	out := map[string]string{}
	for _, v := range all {
		if v != "" {
			out[normal(string(v))] = string(v)
		}
		for _, lang := range i18n.Supported {
			out[normal(catalog.Localizer(lang).Message(msg(v)))] = string(v)
		}
	}
	return out
}

// Header is the template's header row in lang.
func Header(lang string) []string {
	out := make([]string, len(Columns))
	for i, c := range Columns {
		out[i] = label(lang, HeaderID(c.Field))
	}
	return out
}

// Template writes the import template in lang: the header and one example
// row, every value in the form the import reads.
func Template(w io.Writer, lang string) error {
	l := catalog.Localizer(lang)
	example := map[string]string{
		"person": "李传群", "person_code": "", "lender": "阿克喀什乡", "borrower": "喀什市纪委监委",
		"kind": l.Message(secondment.KindSecondment.Message()), "alias": "",
		"purpose": l.Message(secondment.PurposeMajorProject.Message()), "task": "协助查办重大案件",
		"start": "2023-08-01", "end": "2023-10-31", "status": l.Message(secondment.StockReturned.Message()),
		"returned_on": "2023-10-31", "transfer_method": "", "approval_ref": "喀市组干字〔2023〕12号", "approved_on": "2023-07-25",
	}
	row := make([]string, len(Columns))
	for i, c := range Columns {
		row[i] = example[c.Field]
	}
	if err := sheet.Template(w, l.T("import.sheet"), Header(lang), row); err != nil {
		return fmt.Errorf("import template: %w", err)
	}
	return nil
}
