// Package imports reads the spreadsheets clerks import: existing
// secondments (存量, Stock) and the register of people (People). A layout
// is a template's columns; each row is read into its fields, with per-cell
// problems named by column. It resolves nothing (units and people are
// named as the clerk wrote them) and judges nothing: that is the use
// case's.
package imports

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

// Column is one column of an import template.
type Column struct {
	Field    string // the field it fills
	Required bool   // the header must be there (a cell may still be empty)
}

// Layout is one import template: its columns, in order (a header is the
// column's message, import.col.<field>, in Chinese or English), which of
// them are dates and which enumerations, and the example row of its
// template in a language.
type Layout struct {
	Sheet   string // the message ID of the template's sheet name
	Columns []Column
	dates   []string
	enums   map[string]map[string]string
	example func(l *i18n.Localizer) map[string]string
}

// Stock is the template of existing secondments.
var Stock = &Layout{
	Sheet: "import.sheet",
	Columns: []Column{
		{"person", true}, {"person_code", false}, {"lender", true}, {"borrower", true},
		{"kind", false}, {"alias", false}, {"purpose", true}, {"task", true},
		{"start", true}, {"end", true}, {"status", true}, {"returned_on", false},
		{"transfer_method", false}, {"approval_ref", false}, {"approved_on", false},
	},
	dates: []string{"start", "end", "returned_on", "approved_on"},
	enums: map[string]map[string]string{
		"kind":            spellings(secondment.AllKinds, func(v secondment.Kind) secondment.Message { return v.Message() }),
		"alias":           spellings(secondment.AllAliases, func(v secondment.Alias) secondment.Message { return v.Message() }),
		"purpose":         spellings(secondment.AllPurposes, func(v secondment.Purpose) secondment.Message { return v.Message() }),
		"status":          spellings(secondment.AllStockStatuses, func(v secondment.StockStatus) secondment.Message { return v.Message() }),
		"transfer_method": spellings(secondment.AllTransferMethods, func(v secondment.TransferMethod) secondment.Message { return v.Message() }),
	},
	example: func(l *i18n.Localizer) map[string]string {
		return map[string]string{
			"person": "李传群", "person_code": "", "lender": "阿克喀什乡", "borrower": "喀什市纪委监委",
			"kind": l.Message(secondment.KindSecondment.Message()), "alias": "",
			"purpose": l.Message(secondment.PurposeMajorProject.Message()), "task": "协助查办重大案件",
			"start": "2023-08-01", "end": "2023-10-31", "status": l.Message(secondment.StockReturned.Message()),
			"returned_on": "2023-10-31", "transfer_method": "", "approval_ref": "喀市组干字〔2023〕12号", "approved_on": "2023-07-25",
		}
	},
}

// People is the template of the register of people. Leader is "yes" or
// "no" ("是", "否"); empty leaves what is on record.
var People = &Layout{
	Sheet: "import.people.sheet",
	Columns: []Column{
		{"person", true}, {"person_code", false}, {"home_unit", true},
		{"post", false}, {"rank", false}, {"leader", false}, {"note", false},
	},
	enums: map[string]map[string]string{
		"leader": spellings([]string{"yes", "no"}, func(v string) secondment.Message { return secondment.Msg("import.leader." + v) }),
	},
	example: func(l *i18n.Localizer) map[string]string {
		return map[string]string{
			"person": "李传群", "person_code": "KS-0001", "home_unit": "阿克喀什乡", "post": "科员",
			"rank": "一级科员", "leader": l.T("import.leader.no"), "note": "",
		}
	},
}

// HeaderID is the message ID of a field's column header.
func HeaderID(field string) string { return "import.col." + field }

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

// Read parses an uploaded file of layout l into rows. A file it cannot
// use at all (a wrong type, too big, broken, without the required columns)
// is an EInvalid error on the field "file" that says why.
func (l *Layout) Read(name string, r io.Reader) ([]Row, error) {
	t, err := sheet.Read(name, r, sheet.Limits{MaxBytes: MaxBytes, MaxRows: MaxRows})
	if err != nil {
		return nil, FileError(err)
	}
	cols := map[string]int{}
	var missing []string
	for _, c := range l.Columns {
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
		for _, c := range l.Columns {
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
			case slices.Contains(l.dates, c.Field):
				d, err := sheet.Date(cell)
				if err != nil {
					row.Problems = append(row.Problems, Problem{c.Field, secondment.Msg("import.error.date", "Value", v)})
					continue
				}
				v = d.Format(secondment.DateLayout)
			case l.enums[c.Field] != nil:
				code, ok := l.enums[c.Field][normal(v)]
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

// spellings map every accepted spelling of an enumeration's values (the
// code, and its label in each language) to the code.
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

// Header is l's header row in lang.
func (l *Layout) Header(lang string) []string {
	out := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		out[i] = label(lang, HeaderID(c.Field))
	}
	return out
}

// Template writes l's template in lang: the header and one example row,
// every value in the form the import reads.
func (l *Layout) Template(w io.Writer, lang string) error {
	loc := catalog.Localizer(lang)
	example := l.example(loc)
	row := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		row[i] = example[c.Field]
	}
	if err := sheet.Template(w, loc.T(l.Sheet), l.Header(lang), row); err != nil {
		return fmt.Errorf("import template: %w", err)
	}
	return nil
}
