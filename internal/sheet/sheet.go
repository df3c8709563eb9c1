// Package sheet reads and writes the spreadsheets clerks exchange with the
// service: .xlsx from Excel or WPS, and .csv as Excel in China saves it
// (GBK unless "CSV UTF-8" was chosen). It knows file formats only; what the
// columns mean is the importer's business.
package sheet

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// Limits bound what Read accepts.
type Limits struct {
	MaxBytes int64 // whole file; 0 means 10 MiB
	MaxRows  int   // data rows after the header; 0 means 10000
}

const (
	defaultMaxBytes = 10 << 20
	defaultMaxRows  = 10000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = defaultMaxRows
	}
	return l
}

// Table is a spreadsheet's first sheet: the header row's column names
// (trimmed) and its data rows.
//
// The header is the first row that is not completely empty (line 1 in
// every file clerks normally send). Empty names between named columns are
// kept so that indexes line up; empty names after the last named column are
// dropped, because Excel pads every CSV line to the widest row it has seen.
type Table struct {
	Header []string
	Rows   []Row
}

// Row is one data row; Line is its 1-based row number in the file as the
// user sees it in Excel (header is line 1, first data row line 2).
// Completely empty rows (every cell empty after trimming) are skipped but do
// not renumber later lines.
type Row struct {
	Line  int
	Cells []Cell // one per header column, same order as Header (missing trailing cells are empty Cells)
}

// Cell is one value as read.
type Cell struct {
	Text    string  // the displayed/raw text, trimmed of spaces (incl. full-width space U+3000 and NBSP)
	Formula bool    // the xlsx cell holds a formula (Text is then its cached value if any)
	Serial  float64 // for an xlsx numeric cell: its number (used for Excel date serials); 0 otherwise
	Numeric bool    // the xlsx cell is numeric (so Serial is meaningful)
}

// Error is a whole-file problem: nothing of the file can be used.
type Error struct {
	Code   string // one of the constants below
	Detail string // e.g. the limit exceeded, the bad line number, the detected extension
	Line   int    // where known, else 0

	cause error // the parser's own error, for logs
}

// Error codes. Detail per code:
//
//	ErrType     the extension (".txt", "" if none) when it is neither .xlsx nor
//	            .csv; otherwise what the content really is: "xls" (old binary
//	            Excel), "encrypted" (a password-protected workbook, which is
//	            the same binary container), "xlsx" (a workbook named .csv),
//	            "text" (a text file named .xlsx) or "binary".
//	ErrTooLarge the limit in bytes; "unzipped N" when a workbook would
//	            expand past N bytes (a zip bomb or a huge sheet).
//	ErrTooMany  the row limit.
//	ErrBroken   a short reason ("encoding", "zip", the CSV parser's message…).
//	ErrHeader   the duplicated column name.
const (
	ErrType     = "type"          // not .xlsx or .csv (by extension and by content)
	ErrTooLarge = "too_large"     // over MaxBytes
	ErrTooMany  = "too_many_rows" // over MaxRows data rows
	ErrBroken   = "broken"        // unreadable: corrupt zip/xlsx, CSV with unbalanced quotes, ragged rows, bad encoding
	ErrEmpty    = "empty"         // no header row: the file or first sheet has no non-empty row
	ErrHeader   = "header"        // duplicate column name in the header
)

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sheet: ")
	b.WriteString(e.Code)
	if e.Line > 0 {
		b.WriteString(" at line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap gives the underlying parser error (zip, XML, excelize), if any.
func (e *Error) Unwrap() error { return e.cause }

// Read parses name's content from r; the extension of name, ignoring case,
// chooses the format and the content must agree with it.
//
// CSV may be UTF-8 (with or without BOM) or GBK/GB18030; for xlsx the first
// sheet is read. Problems with the file as a whole are *Error; an error of
// another type comes from r itself.
func Read(name string, r io.Reader, lim Limits) (*Table, error) {
	lim = lim.withDefaults()
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	if ext != ".xlsx" && ext != ".csv" {
		return nil, &Error{Code: ErrType, Detail: ext}
	}

	// One byte more than allowed tells "exactly at the limit" from "over it"
	// without reading the rest of a huge upload.
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sheet: reading %s: %w", name, err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, &Error{Code: ErrTooLarge, Detail: strconv.FormatInt(lim.MaxBytes, 10)}
	}
	if len(data) == 0 {
		return nil, &Error{Code: ErrEmpty}
	}

	kind := sniff(data)
	switch {
	case ext == ".xlsx" && kind == "zip":
		return readXLSX(data, lim)
	case ext == ".csv" && kind == "text":
		return readCSV(data, lim)
	case kind == "zip":
		return nil, &Error{Code: ErrType, Detail: "xlsx"}
	default:
		return nil, &Error{Code: ErrType, Detail: kind}
	}
}

var (
	zipMagic = []byte("PK\x03\x04")
	// cfbMagic opens an OLE compound file: .xls, and also any .xlsx saved
	// with a password, which Office wraps in the same container.
	cfbMagic = []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	// encryptionInfo is the UTF-16LE name of the stream only encrypted
	// workbooks have, so users can be told to remove the password rather
	// than to re-save as .xlsx.
	encryptionInfo = []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00")
)

// sniff names what data is, whatever its extension claims: "zip", "xls",
// "encrypted", "binary" or "text".
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return "zip"
	case bytes.HasPrefix(data, cfbMagic) && bytes.Contains(data, encryptionInfo):
		return "encrypted"
	case bytes.HasPrefix(data, cfbMagic):
		return "xls"
	case bytes.IndexByte(data, 0) >= 0:
		// Neither UTF-8 nor GBK text ever holds a NUL byte; UTF-16 text
		// (Excel's "Unicode text") and every binary format do.
		return "binary"
	default:
		return "text"
	}
}

// Column returns the index of the header column named name, or -1.
func (t *Table) Column(name string) int {
	name = clean(name)
	if name == "" {
		return -1
	}
	for i, h := range t.Header {
		if h == name {
			return i
		}
	}
	return -1
}

// clean trims what a person cannot see at either end of a value: Unicode
// white space (which covers U+3000 and NBSP), plus the zero-width space and
// stray BOMs that text pasted from web pages and chat apps carries.
func clean(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200B' || r == '\uFEFF'
	})
}

// builder turns rows of raw texts into a Table, applying the rules both
// formats share: header detection, empty-row skipping, the row limit and
// ragged rows.
type builder struct {
	lim        Limits
	t          Table
	headerLine int
}

// add takes the texts of the row at line (1-based, as Excel numbers it).
func (b *builder) add(line int, texts []string) error {
	last := -1 // index of the last non-empty text
	for i := range texts {
		texts[i] = clean(texts[i])
		if texts[i] != "" {
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	if b.t.Header == nil {
		return b.setHeader(line, texts[:last+1])
	}
	if last >= len(b.t.Header) {
		return &Error{Code: ErrBroken, Line: line,
			Detail: fmt.Sprintf("row has %d columns, header has %d", last+1, len(b.t.Header))}
	}
	if len(b.t.Rows) >= b.lim.MaxRows {
		return &Error{Code: ErrTooMany, Line: line, Detail: strconv.Itoa(b.lim.MaxRows)}
	}
	cells := make([]Cell, len(b.t.Header))
	for i := 0; i <= last; i++ {
		cells[i].Text = texts[i]
	}
	b.t.Rows = append(b.t.Rows, Row{Line: line, Cells: cells})
	return nil
}

func (b *builder) setHeader(line int, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		if seen[n] {
			return &Error{Code: ErrHeader, Line: line, Detail: n}
		}
		seen[n] = true
	}
	b.t.Header = append([]string(nil), names...)
	b.headerLine = line
	return nil
}

func (b *builder) table() (*Table, error) {
	if b.t.Header == nil {
		return nil, &Error{Code: ErrEmpty}
	}
	return &b.t, nil
}
