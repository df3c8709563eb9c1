package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// buildXLSX returns the bytes of a workbook that fn fills through excelize's
// ordinary (non-streaming) API, on the sheet named "Sheet1".
func buildXLSX(t testing.TB, fn func(f *excelize.File, sh string)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fn(f, "Sheet1")
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureXLSX is a sheet as a clerk might send it: padded header names,
// built-in (14, and 31 which only Chinese Excel defines) and custom date
// formats, dates typed as text, a formula, a merged
// unit, text that looks like numbers, an empty and a blank row in the middle,
// and a short row.
func fixtureXLSX(t testing.TB) []byte {
	return buildXLSX(t, func(f *excelize.File, sh string) {
		short, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		must(t, err)
		custom := "yyyy年m月d日"
		cn, err := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
		must(t, err)
		must(t, f.SetSheetRow(sh, "A1", &[]any{" 姓名 ", "借出单位", "\u3000开始日期", "结束日期", "编号", "合计"}))
		must(t, f.SetSheetRow(sh, "A2", &[]any{"张三", "财政局", 45292, "2024年1月5日", "0001"}))
		must(t, f.SetCellStyle(sh, "C2", "C2", short))
		must(t, f.SetCellFormula(sh, "F2", "SUM(1,2)"))
		must(t, f.SetSheetRow(sh, "A3", &[]any{"李四", nil, 45293, "2024/1/6", "45292"}))
		must(t, f.SetCellStyle(sh, "C3", "C3", cn))
		must(t, f.MergeCell(sh, "B2", "B3"))
		// Row 4 is left out entirely; row 5 holds only spaces.
		must(t, f.SetSheetRow(sh, "A5", &[]any{" ", "\u00a0"}))
		must(t, f.SetSheetRow(sh, "A6", &[]any{"王五", "人社局", 20240105, 45292}))
		zhDate, err := f.NewStyle(&excelize.Style{NumFmt: 31}) // zh-CN built-in: yyyy"年"m"月"d"日"
		must(t, err)
		must(t, f.SetCellStyle(sh, "D6", "D6", zhDate))
		must(t, f.SetSheetRow(sh, "A7", &[]any{"赵六\u3000"}))
	})
}

func TestReadXLSX(t *testing.T) {
	tbl, err := Read("名单.XLSX", bytes.NewReader(fixtureXLSX(t)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"姓名", "借出单位", "开始日期", "结束日期", "编号", "合计"}
	if fmt.Sprint(tbl.Header) != fmt.Sprint(wantHeader) {
		t.Fatalf("header = %q, want %q", tbl.Header, wantHeader)
	}
	var lines []int
	for _, r := range tbl.Rows {
		lines = append(lines, r.Line)
		if len(r.Cells) != len(wantHeader) {
			t.Errorf("line %d has %d cells, want %d", r.Line, len(r.Cells), len(wantHeader))
		}
	}
	if fmt.Sprint(lines) != "[2 3 6 7]" {
		t.Fatalf("lines = %v, want [2 3 6 7]: empty rows skipped, numbering kept", lines)
	}

	cell := func(line int, col string) Cell {
		for _, r := range tbl.Rows {
			if r.Line == line {
				return r.Cells[tbl.Column(col)]
			}
		}
		t.Fatalf("no line %d", line)
		return Cell{}
	}
	tests := []struct {
		name string
		line int
		col  string
		want Cell
	}{
		{"text", 2, "姓名", Cell{Text: "张三"}},
		{"built-in date format 14 shown as in China", 2, "开始日期", Cell{Text: "2024/1/1", Numeric: true, Serial: 45292}},
		{"custom date format", 3, "开始日期", Cell{Text: "2024年1月2日", Numeric: true, Serial: 45293}},
		{"date typed as text", 2, "结束日期", Cell{Text: "2024年1月5日"}},
		{"leading zeros kept in text", 2, "编号", Cell{Text: "0001"}},
		{"number typed as text is not numeric", 3, "编号", Cell{Text: "45292"}},
		{"formula without cached value", 2, "合计", Cell{Formula: true}},
		{"merged range filled down", 3, "借出单位", Cell{Text: "财政局"}},
		{"merge source unchanged", 2, "借出单位", Cell{Text: "财政局"}},
		{"plain number", 6, "开始日期", Cell{Text: "20240105", Numeric: true, Serial: 20240105}},
		{"zh-CN built-in date format 31", 6, "结束日期", Cell{Text: "2024年1月1日", Numeric: true, Serial: 45292}},
		{"trailing full-width space trimmed", 7, "姓名", Cell{Text: "赵六"}},
		{"short row padded", 7, "合计", Cell{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cell(tt.line, tt.col); got != tt.want {
				t.Errorf("line %d %s = %+v, want %+v", tt.line, tt.col, got, tt.want)
			}
		})
	}
}

// The stream writer can store a formula's cached value, which the ordinary
// API cannot, so it builds this fixture.
func TestReadXLSXFormulaCachedValue(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	must(t, err)
	must(t, sw.SetRow("A1", []any{"数量", "名称"}))
	must(t, sw.SetRow("A2", []any{
		excelize.Cell{Formula: "1+2", Value: 3},
		excelize.Cell{Formula: `"财"&"政"`, Value: "财政"},
	}))
	must(t, sw.Flush())
	var buf bytes.Buffer
	_, err = f.WriteTo(&buf)
	must(t, err)

	tbl, err := Read("a.xlsx", &buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := tbl.Rows[0].Cells
	want := []Cell{{Text: "3", Formula: true, Numeric: true, Serial: 3}, {Text: "财政", Formula: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cells = %+v, want %+v", got, want)
	}
}

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	must(t, err)
	return b
}

func TestReadCSV(t *testing.T) {
	const text = " 姓名 ,借出单位,\u3000开始日期\r\n" +
		"张三,财政局,2024-01-05\r\n" +
		"\r\n" + // a blank line still takes a row number
		",,\r\n" + // so does an empty row
		"李四,\"人社局,办公室\",2024/1/6\r\n" +
		"王五\r\n" // short rows are padded
	want := Table{
		Header: []string{"姓名", "借出单位", "开始日期"},
		Rows: []Row{
			{Line: 2, Cells: []Cell{{Text: "张三"}, {Text: "财政局"}, {Text: "2024-01-05"}}},
			{Line: 5, Cells: []Cell{{Text: "李四"}, {Text: "人社局,办公室"}, {Text: "2024/1/6"}}},
			{Line: 6, Cells: []Cell{{Text: "王五"}, {}, {}}},
		},
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"utf-8 with bom", append([]byte("\xEF\xBB\xBF"), text...)},
		{"utf-8 without bom", []byte(text)},
		{"gbk", gbk(t, text)},
		{"lf line ends", []byte(strings.ReplaceAll(text, "\r\n", "\n"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Read("名单.csv", bytes.NewReader(tt.data), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", *tbl) != fmt.Sprintf("%+v", want) {
				t.Errorf("got  %+v\nwant %+v", *tbl, want)
			}
		})
	}
}

// Lines are rows as Excel shows the file: a quoted value spanning physical
// lines is one row, and leading blank lines are rows too.
func TestReadCSVLines(t *testing.T) {
	data := "\n姓名,备注\n张三,\"第一行\n第二行\"\n\n李四,无\n"
	tbl, err := Read("a.csv", strings.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.Rows) != 2 || tbl.Rows[0].Line != 3 || tbl.Rows[1].Line != 5 {
		t.Fatalf("rows = %+v, want lines 3 and 5", tbl.Rows)
	}
	if got := tbl.Rows[0].Cells[1].Text; got != "第一行\n第二行" {
		t.Errorf("multi-line value = %q", got)
	}
}

func TestReadErrors(t *testing.T) {
	xlsx := fixtureXLSX(t)
	var plainZip bytes.Buffer
	zw := zip.NewWriter(&plainZip)
	w, err := zw.Create("hello.txt")
	must(t, err)
	_, _ = w.Write([]byte("hello"))
	must(t, zw.Close())
	xls := append([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), make([]byte, 504)...)
	encrypted := append(append([]byte(nil), xls...), "E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o\x00"...)
	// Fifty cells of 30,000 repeated characters compress to almost nothing.
	bomb := buildXLSX(t, func(f *excelize.File, sh string) {
		must(t, f.SetCellValue(sh, "A1", "备注"))
		for i := 2; i < 52; i++ {
			must(t, f.SetCellValue(sh, fmt.Sprintf("A%d", i), strings.Repeat(string(rune('a'+i%26)), 30000)))
		}
	})
	emptyXLSX := buildXLSX(t, func(*excelize.File, string) {})
	dupXLSX := buildXLSX(t, func(f *excelize.File, sh string) {
		must(t, f.SetSheetRow(sh, "A1", &[]any{"姓名", "单位", "姓名 "}))
	})

	tests := []struct {
		name   string
		file   string
		data   []byte
		lim    Limits
		code   string
		detail string
		line   int
	}{
		{name: "txt extension", file: "a.txt", data: []byte("a,b\n"), code: ErrType, detail: ".txt"},
		{name: "no extension", file: "名单", data: []byte("a,b\n"), code: ErrType, detail: ""},
		{name: "xls extension", file: "a.xls", data: xls, code: ErrType, detail: ".xls"},
		// An .xls renamed .xlsx is a file of the wrong type, not a broken
		// .xlsx: the user's fix is to save it again as .xlsx.
		{name: "xls renamed xlsx", file: "a.xlsx", data: xls, code: ErrType, detail: "xls"},
		{name: "xls renamed csv", file: "a.csv", data: xls, code: ErrType, detail: "xls"},
		{name: "password-protected xlsx", file: "a.xlsx", data: encrypted, code: ErrType, detail: "encrypted"},
		{name: "xlsx renamed csv", file: "a.csv", data: xlsx, code: ErrType, detail: "xlsx"},
		{name: "text renamed xlsx", file: "a.xlsx", data: []byte("a,b\n1,2\n"), code: ErrType, detail: "text"},
		{name: "utf-16 csv", file: "a.csv", data: []byte("\xFF\xFEa\x00,\x00b\x00"), code: ErrType, detail: "binary"},

		{name: "csv over byte limit", file: "a.csv", data: []byte("a,b\n1,2\n"), lim: Limits{MaxBytes: 7}, code: ErrTooLarge, detail: "7"},
		{name: "xlsx over byte limit", file: "a.xlsx", data: xlsx, lim: Limits{MaxBytes: int64(len(xlsx) - 1)}, code: ErrTooLarge, detail: fmt.Sprint(len(xlsx) - 1)},
		{name: "xlsx expanding past limit", file: "a.xlsx", data: bomb, lim: Limits{MaxBytes: int64(len(bomb))}, code: ErrTooLarge, detail: fmt.Sprint("unzipped ", 20*len(bomb))},

		{name: "csv too many rows", file: "a.csv", data: []byte("a\n1\n\n2\n3\n"), lim: Limits{MaxRows: 2}, code: ErrTooMany, detail: "2", line: 5},
		{name: "xlsx too many rows", file: "a.xlsx", data: xlsx, lim: Limits{MaxRows: 2}, code: ErrTooMany, detail: "2", line: 6},

		{name: "unterminated quote", file: "a.csv", data: []byte("a,b\n1,2\n3,\"x\n4,5\n"), code: ErrBroken, detail: "extraneous or missing \" in quoted-field", line: 3},
		{name: "bare quote", file: "a.csv", data: []byte("a,b\n\n1,x\"y\n"), code: ErrBroken, detail: "bare \" in non-quoted-field", line: 3},
		{name: "ragged csv row", file: "a.csv", data: []byte("a,b\n1,2\n1,2,3\n"), code: ErrBroken, detail: "row has 3 columns, header has 2", line: 3},
		{name: "neither utf-8 nor gbk", file: "a.csv", data: []byte("a,b\n\xFF\xFE,1\n"), code: ErrBroken, detail: "encoding"},
		{name: "truncated xlsx", file: "a.xlsx", data: xlsx[:len(xlsx)/2], code: ErrBroken, detail: "zip"},
		{name: "zip that is no workbook", file: "a.xlsx", data: plainZip.Bytes(), code: ErrBroken, detail: "xlsx"},

		{name: "empty file", file: "a.csv", data: nil, code: ErrEmpty},
		{name: "bom only", file: "a.csv", data: []byte("\xEF\xBB\xBF"), code: ErrEmpty},
		{name: "blank lines only", file: "a.csv", data: []byte("\r\n , \r\n,,\r\n"), code: ErrEmpty},
		{name: "empty sheet", file: "a.xlsx", data: emptyXLSX, code: ErrEmpty},

		{name: "duplicate csv header", file: "a.csv", data: gbk(t, "姓名,单位, 单位\n"), code: ErrHeader, detail: "单位", line: 1},
		{name: "duplicate xlsx header", file: "a.xlsx", data: dupXLSX, code: ErrHeader, detail: "姓名", line: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := Read(tt.file, bytes.NewReader(tt.data), tt.lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Read = %+v, %v; want *Error %s", tbl, err, tt.code)
			}
			if e.Code != tt.code || e.Detail != tt.detail || e.Line != tt.line {
				t.Errorf("error = {%s %q line %d}, want {%s %q line %d} (%v)",
					e.Code, e.Detail, e.Line, tt.code, tt.detail, tt.line, err)
			}
			if !strings.Contains(e.Error(), tt.code) {
				t.Errorf("message %q lacks the code", e.Error())
			}
		})
	}
}

// An error from the reader itself is the caller's problem, not the file's.
func TestReadIOError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Read("a.csv", io.MultiReader(strings.NewReader("a,b\n"), iotestErr{boom}), Limits{})
	var e *Error
	if !errors.Is(err, boom) || errors.As(err, &e) {
		t.Errorf("err = %v, want the reader's error unwrapped, not *Error", err)
	}
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

func TestColumn(t *testing.T) {
	tbl := &Table{Header: []string{"姓名", "", "开始日期"}}
	for name, want := range map[string]int{"姓名": 0, " 开始日期 ": 2, "": -1, "单位": -1} {
		if got := tbl.Column(name); got != want {
			t.Errorf("Column(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	ok := []struct {
		cell Cell
		want time.Time
	}{
		{Cell{Text: "2024-01-05"}, day(2024, 1, 5)},
		{Cell{Text: "2024-1-5"}, day(2024, 1, 5)},
		{Cell{Text: "2024/01/05"}, day(2024, 1, 5)},
		{Cell{Text: "2024/1/5"}, day(2024, 1, 5)},
		{Cell{Text: "2024.1.5"}, day(2024, 1, 5)},
		{Cell{Text: "2024年1月5日"}, day(2024, 1, 5)},
		{Cell{Text: "2024年01月05日"}, day(2024, 1, 5)},
		{Cell{Text: "20240105"}, day(2024, 1, 5)},
		{Cell{Text: "２０２４年１月５日"}, day(2024, 1, 5)}, // full-width digits
		{Cell{Text: " 2024-02-29 "}, day(2024, 2, 29)},
		{Cell{Text: "45292", Numeric: true, Serial: 45292}, day(2024, 1, 1)},
		{Cell{Text: "2024/1/1", Numeric: true, Serial: 45292}, day(2024, 1, 1)},
		{Cell{Text: "1月1日", Numeric: true, Serial: 45292}, day(2024, 1, 1)},
		{Cell{Text: "45292.75", Numeric: true, Serial: 45292.75}, day(2024, 1, 1)},
		{Cell{Text: "20240105", Numeric: true, Serial: 20240105}, day(2024, 1, 5)},
		{Cell{Numeric: true, Serial: 18264}, day(1950, 1, 1)},
		{Cell{Numeric: true, Serial: 73415}, day(2100, 12, 31)},
	}
	for _, tt := range ok {
		got, err := Date(tt.cell)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Date(%+v) = %v, %v; want %v", tt.cell, got, err, tt.want)
		}
	}

	bad := []struct {
		cell Cell
		why  string
	}{
		{Cell{Text: "2024-02-30"}, "no such date"},
		{Cell{Text: "2023-02-29"}, "no such date"},
		{Cell{Text: "2024-13-01"}, "no such date"},
		{Cell{Text: "2024-1/5"}, "mixed date separators"},
		{Cell{Text: "明年"}, "not a date"},
		{Cell{Text: "45292"}, "not a date"}, // a bare number in a CSV is text
		{Cell{Text: "24-1-5"}, "not a date"},
		{Cell{Text: "2024-01-05 08:00"}, "not a date"},
		{Cell{Text: "1月5日"}, "not a date"},
		{Cell{Text: "1900-01-05"}, "year out of range"},
		{Cell{Text: "22240105"}, "year out of range"},
		{Cell{}, "empty"},
		{Cell{Numeric: true, Serial: 18263}, "number is not a date"}, // 1949-12-31
		{Cell{Numeric: true, Serial: 73416}, "number is not a date"}, // 2101-01-01
		{Cell{Text: "-1", Numeric: true, Serial: -1}, "number is not a date"},
	}
	for _, tt := range bad {
		if got, err := Date(tt.cell); err == nil || err.Error() != tt.why {
			t.Errorf("Date(%+v) = %v, %v; want error %q", tt.cell, got, err, tt.why)
		}
	}
}

func TestEscapeFormula(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":              "'=1+1",
		"+86 138":           "'+86 138",
		"-5":                "'-5",
		"@SUM(A1)":          "'@SUM(A1)",
		"\tx":               "'\tx",
		"\rx":               "'\rx",
		"":                  "",
		"张三":                "张三",
		"0001":              "0001",
		"a=b":               "a=b",
		"'already":          "'already",
		" =1":               " =1",
		"2024-01-05":        "2024-01-05",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
	} {
		if got := EscapeFormula(in); got != want {
			t.Errorf("EscapeFormula(%q) = %q, want %q", in, got, want)
		}
	}
}

var roundTripHeader = []string{"姓名", "编号", "开始日期", "备注"}

var roundTripRows = [][]string{
	{"张三", "0001", "2024-01-05", "=1+1"},
	{"李四", "110101199001011234", "2024/1/5", "-5"},
	{"王五", "", "", "他说\"好\", 然后\n换行"},
	{"@admin", "45292", "2024年1月5日", "+86 138 0000 0000"},
}

// checkRoundTrip reads data back and expects what was written, escaped.
func checkRoundTrip(t *testing.T, name string, data []byte) {
	t.Helper()
	tbl, err := Read(name, bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tbl.Header) != fmt.Sprint(roundTripHeader) {
		t.Errorf("header = %q", tbl.Header)
	}
	if len(tbl.Rows) != len(roundTripRows) {
		t.Fatalf("%d rows, want %d", len(tbl.Rows), len(roundTripRows))
	}
	for i, row := range tbl.Rows {
		if row.Line != i+2 {
			t.Errorf("row %d has line %d", i, row.Line)
		}
		for j, c := range row.Cells {
			want := Cell{Text: EscapeFormula(roundTripRows[i][j])}
			if c != want {
				t.Errorf("line %d %s = %+v, want %+v", row.Line, tbl.Header[j], c, want)
			}
		}
	}
}

func writeAll(t *testing.T, w Writer, err error) {
	t.Helper()
	must(t, err)
	for _, r := range roundTripRows {
		must(t, w.Write(r))
	}
	must(t, w.Close())
}

func TestRoundTripXLSX(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewXLSX(&buf, "借调人员", roundTripHeader)
	writeAll(t, w, err)
	checkRoundTrip(t, "export.xlsx", buf.Bytes())

	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	must(t, err)
	defer f.Close()
	if got := f.GetSheetList(); fmt.Sprint(got) != "[借调人员]" {
		t.Errorf("sheets = %q, want just 借调人员", got)
	}
	id, err := f.GetCellStyle("借调人员", "A1")
	must(t, err)
	style, err := f.GetStyle(id)
	must(t, err)
	if style.Font == nil || !style.Font.Bold {
		t.Errorf("header style %+v is not bold", style)
	}
	// "=1+1" must arrive as text, never as a formula Excel would run.
	if formula, err := f.GetCellFormula("借调人员", "D2"); err != nil || formula != "" {
		t.Errorf("D2 formula = %q, %v", formula, err)
	}
}

func TestRoundTripCSV(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCSV(&buf, roundTripHeader)
	writeAll(t, w, err)
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF姓名,")) {
		t.Errorf("csv does not start with a BOM and the header: %q", data[:min(len(data), 20)])
	}
	if !bytes.Contains(data, []byte("2024-01-05,'=1+1\r\n")) {
		t.Errorf("csv lacks CRLF line ends or escaping: %q", data)
	}
	checkRoundTrip(t, "export.csv", data)
}

func TestTemplate(t *testing.T) {
	var buf bytes.Buffer
	header := []string{"姓名", "身份证号", "开始日期"}
	example := []string{"张三", "110101199001011234", "2024-01-05"}
	must(t, Template(&buf, "模板", header, example))
	tbl, err := Read("模板.xlsx", &buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tbl.Header) != fmt.Sprint(header) || len(tbl.Rows) != 1 {
		t.Fatalf("template = %+v", tbl)
	}
	for j, c := range tbl.Rows[0].Cells {
		if c != (Cell{Text: example[j]}) {
			t.Errorf("%s = %+v, want text %q", header[j], c, example[j])
		}
	}

	buf.Reset()
	must(t, Template(&buf, "模板", header, nil))
	if tbl, err := Read("模板.xlsx", &buf, Limits{}); err != nil || len(tbl.Rows) != 0 {
		t.Errorf("header-only template = %+v, %v", tbl, err)
	}
	if err := Template(io.Discard, "模板", header, example[:2]); err == nil {
		t.Error("Template accepted an example shorter than the header")
	}
	if err := Template(io.Discard, "bad/name", header, nil); err == nil {
		t.Error("Template accepted an invalid sheet name")
	}
}

func TestWriterMisuse(t *testing.T) {
	xw, err := NewXLSX(io.Discard, "S", []string{"a", "b"})
	must(t, err)
	cw, err := NewCSV(io.Discard, []string{"a", "b"})
	must(t, err)
	for name, w := range map[string]Writer{"xlsx": xw, "csv": cw} {
		if err := w.Write([]string{"1"}); err == nil {
			t.Errorf("%s: short row accepted", name)
		}
		must(t, w.Close())
		if err := w.Write([]string{"1", "2"}); err == nil {
			t.Errorf("%s: write after close accepted", name)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: second close = %v", name, err)
		}
	}
	if _, err := NewCSV(io.Discard, nil); err == nil {
		t.Error("NewCSV accepted an empty header")
	}
	if _, err := NewXLSX(io.Discard, "S", nil); err == nil {
		t.Error("NewXLSX accepted an empty header")
	}
}

// BenchmarkXLSX100k writes the largest export the service expects: 100,000
// rows of 20 columns. Run by hand to watch time and memory:
//
//	go test -run '^$' -bench XLSX100k -benchmem ./internal/sheet/
func BenchmarkXLSX100k(b *testing.B) {
	header := make([]string, 20)
	row := make([]string, 20)
	for i := range header {
		header[i] = fmt.Sprintf("列%d", i+1)
		row[i] = fmt.Sprintf("借调人员数据%d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewXLSX(io.Discard, "导出", header)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 100_000; i++ {
			row[0] = fmt.Sprint(i)
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
