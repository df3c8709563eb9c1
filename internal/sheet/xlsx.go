package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// unzipRatio bounds how far a workbook may expand: sheet XML compresses
// about tenfold, so twenty times the size limit leaves room for honest files
// and still stops zip bombs before they fill memory or disk.
const unzipRatio = 20

// openOptions make excelize format values the way Excel in China shows
// them: built-in date format 14 ("short date") as 2024/1/5 rather than the
// US 01-05-24, and the zh-CN built-ins 27–36 and 50–58 (年月日 formats that
// Chinese Excel writes by number only) as Chinese dates instead of raw
// serials.
func openOptions(unzipLimit int64) excelize.Options {
	return excelize.Options{
		UnzipSizeLimit:    unzipLimit,
		UnzipXMLSizeLimit: min(unzipLimit, excelize.StreamChunkSize),
		CultureInfo:       excelize.CultureNameZhCN,
		ShortDatePattern:  "yyyy/m/d",
	}
}

// readXLSX reads the first sheet in two streaming passes over its XML:
// excelize's row iterator gives each cell's text as Excel displays it
// (shared strings, number formats), and a pass of our own gives what that
// iterator drops: cell types, formulas, raw numbers and merged ranges.
// excelize's per-cell getters would give those too, but each call scans
// every merged range of the sheet and needs the whole sheet decoded into
// memory, which makes a large sheet with many merges quadratic.
func readXLSX(data []byte, lim Limits) (*Table, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, &Error{Code: ErrBroken, Detail: "zip", cause: err}
	}
	unzipLimit := int64(math.MaxInt64)
	if lim.MaxBytes < math.MaxInt64/unzipRatio {
		unzipLimit = lim.MaxBytes * unzipRatio
	}
	// archive/zip fails a read that runs past an entry's declared size, so
	// the declared sizes can be trusted. Checking each step keeps the sum
	// from overflowing.
	var unzipped uint64
	for _, zf := range zr.File {
		unzipped += zf.UncompressedSize64
		if zf.UncompressedSize64 > uint64(unzipLimit) || unzipped > uint64(unzipLimit) {
			return nil, &Error{Code: ErrTooLarge, Detail: "unzipped " + strconv.FormatInt(unzipLimit, 10)}
		}
	}
	sheetPath, err := firstSheetPath(zr)
	if err != nil {
		return nil, &Error{Code: ErrBroken, Detail: "xlsx", cause: err}
	}

	f, err := excelize.OpenReader(bytes.NewReader(data), openOptions(unzipLimit))
	if f != nil {
		defer f.Close() // removes excelize's temporary files
	}
	if err != nil {
		return nil, &Error{Code: ErrBroken, Detail: "xlsx", cause: err}
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, &Error{Code: ErrBroken, Detail: "xlsx", cause: errors.New("workbook has no sheet")}
	}
	b := builder{lim: lim}
	if err := readTexts(f, sheets[0], &b); err != nil {
		return nil, err
	}
	t, err := b.table()
	if err != nil {
		return nil, err
	}

	part, err := openPart(zr, sheetPath)
	if err != nil {
		return nil, &Error{Code: ErrBroken, Detail: "xlsx", cause: err}
	}
	defer part.Close()
	if err := annotate(part, t, b.headerLine); err != nil {
		return nil, err
	}
	return t, nil
}

// readTexts feeds the displayed text of every row of sheet to b, stopping
// at the first problem (so an oversized sheet is not read to its end).
func readTexts(f *excelize.File, sheet string, b *builder) error {
	rows, err := f.Rows(sheet)
	if err != nil {
		return &Error{Code: ErrBroken, Detail: "xlsx", cause: err}
	}
	defer rows.Close()
	// The iterator yields every row number up to the last row, including
	// ones the file leaves out, so counting calls gives the row number.
	line := 0
	for rows.Next() {
		line++
		texts, err := rows.Columns()
		if err != nil {
			return &Error{Code: ErrBroken, Line: line, Detail: "xlsx", cause: err}
		}
		if err := b.add(line, texts); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return &Error{Code: ErrBroken, Detail: "xlsx", cause: err}
	}
	return nil
}

// xmlCell is what annotate needs of a <c> element.
type xmlCell struct {
	T string    `xml:"t,attr"`
	F *struct{} `xml:"f"` // present for every formula, shared ones included
	V string    `xml:"v"`
}

// annotate reads the sheet XML and sets Formula, Numeric and Serial on the
// cells of t's rows, then copies each merged range's value into the cells
// it covers, as Excel shows it and excelize's GetCellValue reports it.
func annotate(r io.Reader, t *Table, headerLine int) error {
	index := make(map[int]int, len(t.Rows)) // line → index in t.Rows
	for i, row := range t.Rows {
		index[row.Line] = i
	}
	width := len(t.Header)
	broken := func(line int, err error) error {
		return &Error{Code: ErrBroken, Line: line, Detail: "xlsx", cause: err}
	}

	var merges []string
	dec := xml.NewDecoder(r)
	line, col := 0, 0
	var cells []Cell // the current row's cells, nil for rows not in t
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return broken(line, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "row":
			// Rows and cells without a reference follow the previous one,
			// as excelize's iterator assumes.
			line++
			if n, err := strconv.Atoi(attr(se, "r")); err == nil {
				line = n
			}
			col = 0
			i, ok := index[line]
			if !ok {
				if err := dec.Skip(); err != nil {
					return broken(line, err)
				}
				cells = nil
				continue
			}
			cells = t.Rows[i].Cells
		case "c":
			col++
			if ref := attr(se, "r"); ref != "" {
				if col, _, err = excelize.CellNameToCoordinates(ref); err != nil {
					return broken(line, err)
				}
			}
			if cells == nil || col > width {
				if err := dec.Skip(); err != nil {
					return broken(line, err)
				}
				continue
			}
			var x xmlCell
			if err := dec.DecodeElement(&x, &se); err != nil {
				return broken(line, err)
			}
			setKind(&cells[col-1], x)
		case "mergeCell":
			merges = append(merges, attr(se, "ref"))
		}
	}
	return fillMerges(t, merges, headerLine)
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// setKind records what kind of value the cell holds.
func setKind(c *Cell, x xmlCell) {
	c.Formula = x.F != nil
	switch x.T {
	case "", "n":
		if v, err := strconv.ParseFloat(strings.TrimSpace(x.V), 64); err == nil {
			c.Numeric, c.Serial = true, v
		}
	case "d":
		// An ISO 8601 date cell (rare; Strict OOXML writers use it) is a
		// date all the same: report it as the serial Excel would store.
		if tm, ok := parseISO(x.V); ok {
			c.Numeric, c.Serial = true, serialOf(tm)
		}
	}
}

func parseISO(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

// fillMerges copies the top-left value of each merged range below the
// header into the other cells it covers, so a unit merged down over three
// people belongs to all three. Excel forbids overlapping ranges, so an
// honest file fills at most every cell once; more than that is refused
// rather than letting crafted ranges multiply the work.
func fillMerges(t *Table, refs []string, headerLine int) error {
	width := len(t.Header)
	budget := len(t.Rows) * width
	for _, ref := range refs {
		first, last, ok := strings.Cut(ref, ":")
		if !ok {
			continue // a single cell merged with itself
		}
		c1, r1, err1 := excelize.CellNameToCoordinates(first)
		c2, r2, err2 := excelize.CellNameToCoordinates(last)
		if err := errors.Join(err1, err2); err != nil {
			return &Error{Code: ErrBroken, Detail: "xlsx", cause: fmt.Errorf("merged range %q: %w", ref, err)}
		}
		if r1 <= headerLine || c1 > width {
			continue
		}
		c2 = min(c2, width)
		// Rows are in line order; the range's rows are a contiguous run.
		i := sort.Search(len(t.Rows), func(i int) bool { return t.Rows[i].Line >= r1 })
		if i == len(t.Rows) || t.Rows[i].Line != r1 {
			continue // the top-left cell's row is empty, so is the value
		}
		src := t.Rows[i].Cells[c1-1]
		if src.Text == "" {
			continue
		}
		for ; i < len(t.Rows) && t.Rows[i].Line <= r2; i++ {
			for c := c1; c <= c2; c++ {
				if budget--; budget < 0 {
					return &Error{Code: ErrBroken, Detail: "xlsx", cause: errors.New("overlapping merged ranges")}
				}
				t.Rows[i].Cells[c-1] = src
			}
		}
	}
	return nil
}

// Only the first sheet is read; its part name comes from the package
// relationships exactly as excelize resolves it, so both passes read the
// same XML.

type xmlRels struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

type xmlWorkbook struct {
	Sheets []struct {
		RelID string `xml:"id,attr"` // r:id; the namespace differs in Strict OOXML
	} `xml:"sheets>sheet"`
}

// firstSheetPath finds the zip part of the workbook's first sheet.
func firstSheetPath(zr *zip.Reader) (string, error) {
	var root xmlRels
	if err := decodePart(zr, "_rels/.rels", &root); err != nil {
		return "", err
	}
	book := ""
	for _, r := range root.Rels {
		if path.Base(r.Type) == "officeDocument" {
			book = resolve("", r.Target)
			break
		}
	}
	if book == "" {
		return "", errors.New("no workbook part")
	}
	var wb xmlWorkbook
	if err := decodePart(zr, book, &wb); err != nil {
		return "", err
	}
	if len(wb.Sheets) == 0 {
		return "", errors.New("workbook has no sheet")
	}
	var rels xmlRels
	if err := decodePart(zr, path.Join(path.Dir(book), "_rels", path.Base(book)+".rels"), &rels); err != nil {
		return "", err
	}
	for _, r := range rels.Rels {
		if r.ID == wb.Sheets[0].RelID {
			return resolve(path.Dir(book), r.Target), nil
		}
	}
	return "", fmt.Errorf("no part for sheet relationship %q", wb.Sheets[0].RelID)
}

// resolve turns a relationship target into a part name: absolute targets
// start at the package root, others at dir.
func resolve(dir, target string) string {
	target = strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Join(dir, target), "/")
}

func decodePart(zr *zip.Reader, name string, v any) error {
	rc, err := openPart(zr, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", name, err)
	}
	return nil
}

// openPart opens a zip entry by part name. Part names are case-insensitive
// in OPC, and some writers use backslashes.
func openPart(zr *zip.Reader, name string) (io.ReadCloser, error) {
	for _, zf := range zr.File {
		if strings.EqualFold(strings.ReplaceAll(zf.Name, `\`, "/"), name) {
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("opening %s: %w", name, err)
			}
			return rc, nil
		}
	}
	return nil, fmt.Errorf("no part %s", name)
}

// excelEpoch is day 0 of the 1900 date system as Excel counts from 1 March
// 1900 on (its phantom 29 February 1900 makes the epoch 30 December 1899).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// serialOf gives tm's Excel serial. Excel has no time zones, so it counts
// the wall clock as written.
func serialOf(tm time.Time) float64 {
	wall := time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
	return float64(wall.Unix()-excelEpoch.Unix())/86400 + float64(wall.Nanosecond())/86400e9
}
