package sheet

import (
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"
)

// EscapeFormula protects a value written to an export against formula
// injection: a value beginning with = + - @, a tab or a carriage return gets
// a leading apostrophe ('), so a name like "=HYPERLINK(…)" typed into the
// service cannot run in the spreadsheet of whoever opens the export.
// Everything else is unchanged. Negative numbers get the apostrophe too;
// exports carry text, not arithmetic.
func EscapeFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Writer streams rows to an .xlsx or .csv without holding them in memory.
// Close must be called even after an error: for xlsx it also removes the
// temporary file the rows are spilled to.
type Writer interface {
	Write(cells []string) error // one row; values are escaped with EscapeFormula by the writer itself
	Close() error               // flush and finish the file (for xlsx: write the workbook to the underlying io.Writer)
}

// Column widths in Excel's units (about one Latin character each).
const (
	minColWidth = 10
	maxColWidth = 50
)

// xlsxWriter is the Writer for NewXLSX.
type xlsxWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	out    io.Writer
	n      int   // columns, from the header
	row    int   // last row written, 1 is the header
	vals   []any // reused for the escaped values
	closed bool
}

// NewXLSX writes an .xlsx through excelize's StreamWriter, which spills
// rows to a temporary file past 16 MB. The single sheet is named sheetName,
// the header row is bold and frozen, and every value is a text cell, so
// "0001", ID numbers and dates keep the form they were given; the columns
// are formatted as text too, so what a user types into them later stays
// text as well. Note that excelize assembles the compressed workbook in
// memory when Close writes it out.
func NewXLSX(w io.Writer, sheetName string, header []string) (Writer, error) {
	return newXLSX(w, sheetName, header, nil)
}

// newXLSX is NewXLSX sizing the columns to fit header and the rows in fit
// as well, when they are known in advance.
func newXLSX(w io.Writer, sheetName string, header []string, fit [][]string) (_ *xlsxWriter, err error) {
	if len(header) == 0 {
		return nil, errors.New("sheet: xlsx header has no columns")
	}
	f := excelize.NewFile()
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	// A new file has one sheet, "Sheet1"; renaming it keeps the workbook
	// to the single sheet the caller named.
	if err := f.SetSheetName(f.GetSheetName(0), sheetName); err != nil {
		return nil, fmt.Errorf("sheet: naming sheet %q: %w", sheetName, err)
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		return nil, fmt.Errorf("sheet: starting xlsx stream: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 49})
	if err != nil {
		return nil, fmt.Errorf("sheet: adding header style: %w", err)
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // 49 is "@", text
	if err != nil {
		return nil, fmt.Errorf("sheet: adding text style: %w", err)
	}
	// The stream writer takes column settings and panes only before the
	// first row.
	for i, h := range header {
		wd := textWidth(h)
		for _, row := range fit {
			if i < len(row) {
				wd = max(wd, textWidth(row[i]))
			}
		}
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(wd+2, minColWidth), maxColWidth))); err != nil {
			return nil, fmt.Errorf("sheet: setting column width: %w", err)
		}
	}
	if err := sw.SetColStyle(1, len(header), text); err != nil {
		return nil, fmt.Errorf("sheet: setting column style: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("sheet: freezing header: %w", err)
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = excelize.Cell{StyleID: bold, Value: EscapeFormula(h)}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return nil, fmt.Errorf("sheet: writing xlsx header: %w", err)
	}
	return &xlsxWriter{f: f, sw: sw, out: w, n: len(header), row: 1, vals: make([]any, len(header))}, nil
}

// textWidth is the width of s in Excel columns: CJK characters take two.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// Write writes one row, which must have as many cells as the header.
func (x *xlsxWriter) Write(cells []string) error {
	if x.closed {
		return errors.New("sheet: write to closed xlsx writer")
	}
	if len(cells) != x.n {
		return fmt.Errorf("sheet: xlsx row has %d cells, header has %d", len(cells), x.n)
	}
	for i, c := range cells {
		x.vals[i] = EscapeFormula(c) // a string, so excelize writes a text cell
	}
	x.row++
	ref, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return fmt.Errorf("sheet: xlsx row %d: %w", x.row, err)
	}
	if err := x.sw.SetRow(ref, x.vals); err != nil {
		return fmt.Errorf("sheet: writing xlsx row %d: %w", x.row, err)
	}
	return nil
}

// Close finishes the sheet and writes the workbook to the underlying
// writer, which it does not close.
func (x *xlsxWriter) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	err := x.finish()
	if cerr := x.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("sheet: removing xlsx temporary files: %w", cerr)
	}
	return err
}

func (x *xlsxWriter) finish() error {
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("sheet: finishing xlsx sheet: %w", err)
	}
	if _, err := x.f.WriteTo(x.out); err != nil {
		return fmt.Errorf("sheet: writing xlsx: %w", err)
	}
	return nil
}

// discard releases the writer's resources without writing anything.
func (x *xlsxWriter) discard() {
	x.closed = true
	_ = x.f.Close()
}

// Template writes an .xlsx with only the header row and one example row,
// for users to fill in. It is NewXLSX's file, so the columns are text
// columns: an ID number typed into the template stays whole. example may be
// empty for a header-only template; otherwise it needs one value per column.
func Template(w io.Writer, sheetName string, header []string, example []string) error {
	x, err := newXLSX(w, sheetName, header, [][]string{example})
	if err != nil {
		return err
	}
	if len(example) > 0 {
		if err := x.Write(example); err != nil {
			x.discard()
			return err
		}
	}
	return x.Close()
}
