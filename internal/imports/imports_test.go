package imports_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"secondment/internal/i18n"
	"secondment/internal/imports"
	"secondment/internal/secondment"
	"secondment/internal/sheet"
)

// English headers and labels read as well as Chinese ones; dates in the
// forms offices type become YYYY-MM-DD; a bad value is a problem on its
// column, not a failed file.
func TestReadEnglishAndChinese(t *testing.T) {
	en := strings.Join(imports.Stock.Header(i18n.English), ",") + "\n" +
		"Li,,A,B,Secondment,,Special project,task,2023/1/5,2023年3月1日,Returned home,20230301,,,\n" +
		"Li,,A,B,借调,,专项工作,task,2023-01-05,soon,失踪,,,,\n"
	rows, err := imports.Stock.Read("x.csv", strings.NewReader(en))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	want := map[string]string{"kind": "secondment", "purpose": "special_project", "status": "returned",
		"start": "2023-01-05", "end": "2023-03-01", "returned_on": "2023-03-01"}
	for k, v := range want {
		if got := rows[0].Fields[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(rows[0].Problems) != 0 {
		t.Errorf("problems on a good row: %+v", rows[0].Problems)
	}
	fields := map[string]bool{}
	for _, p := range rows[1].Problems {
		fields[p.Field] = true
	}
	if !fields["end"] || !fields["status"] || len(fields) != 2 || rows[1].Line != 3 {
		t.Errorf("bad row: line %d, problems %+v", rows[1].Line, rows[1].Problems)
	}
}

// A file without the required columns is refused whole, naming them.
func TestReadMissingColumns(t *testing.T) {
	_, err := imports.Stock.Read("x.csv", strings.NewReader("姓名,借用单位\n张三,某单位\n"))
	var e *secondment.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Message.ID != "import.error.columns" ||
		!strings.Contains(e.Fields[0].Message.Data["Columns"].(string), "开始日期") {
		t.Fatalf("missing columns: %v", err)
	}
}

// The template reads back as an import file whose example row is clean.
func TestTemplateReadsBack(t *testing.T) {
	for _, lang := range i18n.Supported {
		var buf bytes.Buffer
		if err := imports.Stock.Template(&buf, lang); err != nil {
			t.Fatal(err)
		}
		if _, err := sheet.Read("t.xlsx", bytes.NewReader(buf.Bytes()), sheet.Limits{}); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		rows, err := imports.Stock.Read("t.xlsx", bytes.NewReader(buf.Bytes()))
		if err != nil || len(rows) != 1 || len(rows[0].Problems) != 0 || rows[0].Fields["status"] != "returned" {
			t.Errorf("%s template: %+v, %v", lang, rows, err)
		}
	}
}
