package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var utf8BOM = []byte("\xEF\xBB\xBF")

func readCSV(data []byte, lim Limits) (*Table, error) {
	data, err := toUTF8(data)
	if err != nil {
		return nil, err
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // ragged rows are judged by builder, with the line
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	// encoding/csv skips blank lines and lets quoted fields span lines, so
	// its line numbers are not the row numbers Excel shows. row follows
	// Excel: one per record, plus one per blank line skipped.
	b := builder{lim: lim}
	row, end := 0, 0 // Excel row of the last record, physical line it ended on
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{Code: ErrBroken, Line: row + 1 + max(pe.StartLine-end-1, 0),
					Detail: pe.Err.Error(), cause: err}
			}
			return nil, fmt.Errorf("sheet: reading csv: %w", err)
		}
		start, _ := cr.FieldPos(0)
		row += 1 + max(start-end-1, 0)
		lastLine, _ := cr.FieldPos(len(rec) - 1)
		end = lastLine + strings.Count(rec[len(rec)-1], "\n")
		if err := b.add(row, rec); err != nil {
			return nil, err
		}
	}
	return b.table()
}

// toUTF8 returns data as UTF-8 without a BOM. Bytes that are not valid
// UTF-8 are taken for GB18030, the superset of the GBK that Excel in China
// writes when saving as plain "CSV".
func toUTF8(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if utf8.Valid(data) {
		return data, nil
	}
	// The decoder never fails: it writes U+FFFD for bytes GB18030 cannot
	// map, and a real U+FFFD cannot be in the input (it was not UTF-8, and
	// GB18030 text would have to spell it out as a four-byte sequence nobody
	// types). So a U+FFFD in the output means neither encoding fits.
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return nil, &Error{Code: ErrBroken, Detail: "encoding", cause: err}
	}
	return out, nil
}

// csvWriter is the Writer for NewCSV.
type csvWriter struct {
	w      *csv.Writer
	n      int      // columns, from the header
	row    []string // reused for the escaped values
	closed bool
}

// NewCSV writes UTF-8 CSV with a BOM (without it Excel in China reads the
// file as GBK and garbles it), CRLF line ends, header first.
//
// CSV cannot keep Excel from turning "0001" into 1 or an 18-digit ID number
// into 1.1E+17 when the file is opened; exports holding such values should
// be offered as .xlsx.
func NewCSV(w io.Writer, header []string) (Writer, error) {
	if len(header) == 0 {
		return nil, errors.New("sheet: csv header has no columns")
	}
	if _, err := w.Write(utf8BOM); err != nil {
		return nil, fmt.Errorf("sheet: writing csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	x := &csvWriter{w: cw, n: len(header), row: make([]string, len(header))}
	if err := x.Write(header); err != nil {
		return nil, err
	}
	return x, nil
}

// Write writes one row, which must have as many cells as the header.
func (x *csvWriter) Write(cells []string) error {
	if x.closed {
		return errors.New("sheet: write to closed csv writer")
	}
	if len(cells) != x.n {
		return fmt.Errorf("sheet: csv row has %d cells, header has %d", len(cells), x.n)
	}
	for i, c := range cells {
		x.row[i] = EscapeFormula(c)
	}
	if err := x.w.Write(x.row); err != nil {
		return fmt.Errorf("sheet: writing csv: %w", err)
	}
	return nil
}

// Close flushes what is buffered. It does not close the underlying writer.
func (x *csvWriter) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.w.Flush()
	if err := x.w.Error(); err != nil {
		return fmt.Errorf("sheet: writing csv: %w", err)
	}
	return nil
}
