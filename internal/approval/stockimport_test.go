package approval_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"secondment/internal/approval"
	"secondment/internal/imports"
	sm "secondment/internal/secondment"
)

const importHeader = "姓名,人员编号,原单位（借出单位）,借用单位,类别,本地称谓,借调事由,具体任务,开始日期,结束日期,借调现状,返回日期,调入方式,审批文号,审批日期\n"

// importRows are a clerk's file: a good row, one naming someone not on
// record, a bad date, an unknown unit, a bad value, the first row again.
const importRows = `李传群,,阿克喀什乡,喀什市纪委监委,借调,,重大工程、重点项目,协助查办重大案件,2023/8/1,2024年1月31日,仍在借调,,,,
吐逊江·买买提,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,乡村振兴专项,2023-02-01,2023-04-30,已返回原单位,2023-04-30,,喀市组干字〔2023〕3号,2023-01-20
李传群,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,明年,2025-01-01,仍在借调,,,,
李传群,,不存在乡,喀什市纪委监委,借调,,专项工作,专项,2022-01-01,2022-03-01,已返回原单位,2022-03-01,,,
李传群,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2022-05-01,2022-06-01,失踪,,,,
李传群,,阿克喀什乡,喀什市纪委监委,借调,,重大工程、重点项目,协助查办重大案件,2023-08-01,2024-01-31,仍在借调,,,,
`

func problemAt(t *testing.T, r approval.ImportRow, field string) {
	t.Helper()
	for _, p := range r.Problems {
		if p.Field == field {
			return
		}
	}
	t.Errorf("line %d: no problem on %s: %+v", r.Line, field, r.Problems)
}

// A GBK CSV is previewed row by row without writing anything, committed
// in one transaction (valid rows only), and a second commit adds nothing.
func TestImportPreviewCommitAgain(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(importHeader + importRows)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := w.svc.ImportUpload(w.ctx, org, "存量.csv", []byte(gbk), approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pre.Rows) != 6 || pre.Committed {
		t.Fatalf("preview: %+v", pre)
	}
	if r := pre.Rows[0]; r.Outcome != approval.ImportNew || r.State != sm.StateOverdue || len(r.Irregular) == 0 || r.Line != 2 {
		t.Errorf("good row: %+v", r)
	}
	problemAt(t, pre.Rows[1], "person")
	problemAt(t, pre.Rows[2], "start")
	problemAt(t, pre.Rows[3], "lender")
	problemAt(t, pre.Rows[4], "status")
	if r := pre.Rows[5]; r.Outcome != approval.ImportAlready {
		t.Errorf("the same row twice in a file: %+v", r)
	}
	if n := w.count(`SELECT count(*) FROM secondment`); n != 0 {
		t.Fatalf("a preview wrote %d rows", n)
	}

	// With missing people added, the second row goes in too.
	o := approval.ImportOptions{CreatePeople: true}
	pre, err = w.svc.ImportPreview(w.ctx, org, pre.ID, o)
	if err != nil || pre.Rows[1].Outcome != approval.ImportNew || !pre.Rows[1].NewPerson || pre.People != 1 {
		t.Fatalf("preview adding people: %v %+v", err, pre.Rows[1])
	}
	if n := w.count(`SELECT count(*) FROM person WHERE name = '吐逊江·买买提'`); n != 0 {
		t.Fatal("a preview added a person")
	}
	done, err := w.svc.ImportCommit(w.ctx, org, pre.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	if done.New != 2 || done.Already != 1 || done.Invalid != 3 || !done.Committed {
		t.Errorf("commit: new %d already %d invalid %d", done.New, done.Already, done.Invalid)
	}
	// Each row's number, though a row is written with the next row's
	// reads: the first (written with the sixth's lookup), the second (in a
	// savepoint, with its new person), and the sixth finding the first.
	if a, b, c := done.Rows[0].Number, done.Rows[1].Number, done.Rows[5].Number; a != "登记〔2024〕0001" || b != "登记〔2024〕0002" || c != a {
		t.Errorf("numbers: %q %q %q", a, b, c)
	}
	// The numbers reserved for the file's six rows and not used are given
	// back: the next registration is 0003.
	if n := w.count(`SELECT last_value FROM secondment_number_counter WHERE series = 'register'`); n != 2 {
		t.Errorf("register counter at %d after two registered, want 2", n)
	}
	if n := w.count(`SELECT count(*) FROM secondment WHERE registered_on IS NOT NULL`); n != 2 {
		t.Errorf("%d registered after commit, want 2", n)
	}
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'stock.import'`); n != 1 {
		t.Errorf("%d import audit events", n)
	}
	// A commit writes each row whole (a preview writes the row alone).
	if n := w.count(`SELECT count(*) FROM audit_event WHERE action = 'secondment.register'`); n != 2 {
		t.Errorf("%d registration audit events, want 2", n)
	}
	if n := w.count(`SELECT count(*) FROM ledger_entry le JOIN secondment s ON s.id = le.secondment_id
		WHERE s.number = $1`, done.Rows[0].Number); n == 0 {
		t.Errorf("the irregular first row has no ledger entry")
	}
	again, err := w.svc.ImportCommit(w.ctx, org, pre.ID, o)
	if err != nil || again.New != 0 || again.Already != 3 || again.People != 0 {
		t.Errorf("again: %v new %d already %d people %d", err, again.New, again.Already, again.People)
	}
	if n := w.count(`SELECT count(*) FROM secondment`); n != 2 {
		t.Errorf("%d rows after a second commit", n)
	}
	// Someone else's upload is not found.
	other := w.actor("XJ-KS-ZZB", sm.RoleRegistrar, "另一位台账管理员")
	_, err = w.svc.ImportPreview(w.ctx, other, pre.ID, o)
	codeOf(t, err, sm.ENotFound)
}

// An import reads its rows' facts a window at a time, yet each row sees
// the rows before it: three people of one township registered away in one
// file count one, two and three away (R14), as they would one by one, and
// a row repeated is found registered.
func TestImportRowsSeeTheRowsBefore(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	if _, err := w.s.Pool.Exec(w.ctx, `UPDATE unit SET headcount = 10 WHERE code = 'XJ-KS-AKKS';
		INSERT INTO person (code, name, home_unit_id) SELECT 'KS-T-' || n, '测试' || n, id FROM unit, generate_series(1, 3) n
		WHERE code = 'XJ-KS-AKKS'`); err != nil {
		t.Fatal(err)
	}
	file := importHeader
	for n := 1; n <= 3; n++ {
		file += fmt.Sprintf("测试%d,KS-T-%d,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2024-05-01,2024-07-31,仍在借调,,,,\n", n, n)
	}
	// And someone back home, twice: the second row is the first.
	back := "李传群,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-01-01,2023-03-01,已返回原单位,2023-03-01,,,\n"
	file += back + back
	imp, err := w.svc.ImportUpload(w.ctx, org, "三人.csv", []byte(file), approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o := imp.Rows[3].Outcome + "," + imp.Rows[4].Outcome; o != "new,already" {
		t.Errorf("the same returned row twice: %s", o)
	}
	// A preview's numbers are rolled back with it: it shows none.
	for _, r := range imp.Rows {
		if r.Number != "" {
			t.Errorf("line %d: a preview shows number %s", r.Line, r.Number)
		}
	}
	for n, r := range imp.Rows[:3] {
		away := -1
		for _, f := range r.Findings {
			if f.Rule == sm.R14 {
				away, _ = f.Message.Data["Away"].(int)
			}
		}
		if r.Outcome != approval.ImportNew || away != n+1 {
			t.Errorf("row %d: %s, %d away, want %d", n+1, r.Outcome, away, n+1)
		}
	}
}

// A person's rows read each other whether the store holds them or not: a
// preview writes a returned row for no one (no later row counts people
// away from its unit), and the person's next term must still see it. Two
// consecutive terms at one borrowing unit run past Kashgar's six-month
// chain cap (R7), with another person's row between them; the third row
// repeats the first.
func TestImportPersonRowsChain(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	if _, err := w.s.Pool.Exec(w.ctx, `INSERT INTO person (code, name, home_unit_id)
		SELECT 'KS-C-' || n, '连续' || n, id FROM unit, generate_series(1, 2) n WHERE code = 'XJ-KS-AKKS'`); err != nil {
		t.Fatal(err)
	}
	first := "连续1,KS-C-1,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-01-01,2023-03-31,已返回原单位,2023-03-31,,,\n"
	file := importHeader + first +
		"连续2,KS-C-2,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-01-01,2023-02-28,已返回原单位,2023-02-28,,,\n" +
		first +
		"连续1,KS-C-1,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-04-01,2023-08-31,已返回原单位,2023-08-31,,,\n"
	check := func(what string, imp approval.Import) {
		t.Helper()
		if o := fmt.Sprintf("%s %s %s %s", imp.Rows[0].Outcome, imp.Rows[1].Outcome, imp.Rows[2].Outcome, imp.Rows[3].Outcome); o != "new new already new" {
			t.Errorf("%s: outcomes %s", what, o)
		}
		if !slices.Contains(imp.Rows[3].Irregular, sm.R7) {
			t.Errorf("%s: the second term of a chain over the cap is not irregular under R7: %v", what, imp.Rows[3].Irregular)
		}
		if slices.Contains(imp.Rows[0].Irregular, sm.R7) {
			t.Errorf("%s: the first term alone is over the cap: %v", what, imp.Rows[0].Irregular)
		}
	}
	pre, err := w.svc.ImportUpload(w.ctx, org, "连续.csv", []byte(file), approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("preview", pre)
	if pre.Rows[2].Number != "" {
		t.Errorf("a preview shows the number %s of a row it rolls back", pre.Rows[2].Number)
	}
	done, err := w.svc.ImportCommit(w.ctx, org, pre.ID, approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("commit", done)
	if done.Rows[2].Number == "" || done.Rows[2].Number != done.Rows[0].Number {
		t.Errorf("the repeated row's number %q, the first's %q", done.Rows[2].Number, done.Rows[0].Number)
	}
}

// An .xlsx with Excel dates and a formula: the dates are read, the formula
// refused on its cell.
func TestImportXLSX(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	f := excelize.NewFile()
	header := strings.Split(strings.TrimSpace(importHeader), ",")
	for i, h := range header {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellValue("Sheet1", cell, h)
	}
	row := []any{"李传群", "", "阿克喀什乡", "喀什市纪委监委", "借调", "", "专项工作", "专项", 45139, 45230, "已返回原单位", 45230, "", "", ""}
	for i, v := range row {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		f.SetCellValue("Sheet1", cell, v)
	}
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	f.SetCellStyle("Sheet1", "I2", "L2", style)
	f.SetCellFormula("Sheet1", "H3", `"任务"&"甲"`)
	for i, v := range []string{"李传群", "", "阿克喀什乡", "喀什市纪委监委", "借调", "", "专项工作"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 3)
		f.SetCellValue("Sheet1", cell, v)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	pre, err := w.svc.ImportUpload(w.ctx, org, "stock.xlsx", buf.Bytes(), approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := pre.Rows[0]; r.Outcome != approval.ImportNew || r.State != sm.StateReturned {
		t.Errorf("xlsx row with Excel dates: %+v", r)
	}
	r := pre.Rows[1]
	if len(r.Problems) == 0 || r.Problems[0].Field != "task" || r.Problems[0].Message.ID != "import.error.formula" {
		t.Errorf("a formula's cell: %+v", r.Problems)
	}
}

// A person an import would add goes only with a row that goes in: a row
// refused after its person was added leaves no one behind, and a code
// someone outside the jurisdiction holds is a problem on the row, not a
// failed import.
func TestImportAddsPeopleOnlyWithTheirRows(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	rows := importHeader +
		// a new person, at a borrowing unit the org dept does not approve
		"新人甲,,阿克喀什乡,青山区人大常委会机关,借调,,专项工作,专项,2023-01-01,2023-03-01,已返回原单位,2023-03-01,,,\n" +
		// a new person whose code is 芦长丽's, of Baotou
		"新人乙,NMG-BT-QS-KXL-P01,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-01-01,2023-03-01,已返回原单位,2023-03-01,,,\n" +
		// a new person, fine
		"新人丙,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,专项,2023-01-01,2023-03-01,已返回原单位,2023-03-01,,,\n"
	o := approval.ImportOptions{CreatePeople: true}
	pre, err := w.svc.ImportUpload(w.ctx, org, "a.csv", []byte(rows), o)
	if err != nil {
		t.Fatal(err)
	}
	done, err := w.svc.ImportCommit(w.ctx, org, pre.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	problemAt(t, done.Rows[0], "borrower")
	problemAt(t, done.Rows[1], "person_code")
	if done.Rows[0].NewPerson || done.Rows[1].NewPerson || !done.Rows[2].NewPerson || done.People != 1 || done.New != 1 {
		t.Errorf("commit: %+v", done)
	}
	if n := w.count(`SELECT count(*) FROM person WHERE name LIKE '新人%'`); n != 1 {
		t.Errorf("%d people added, want only the one whose row went in", n)
	}
}

// Files that cannot be read are refused whole, with the reason, and kept
// nowhere.
func TestImportBadFiles(t *testing.T) {
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	for name, c := range map[string]struct {
		file string
		data string
		want string
	}{
		"word document": {"a.docx", "PK\x03\x04", "import.error.type"},
		"no columns":    {"a.csv", "名字,日期\n张三,2024-01-01\n", "import.error.columns"},
		"broken quotes": {"a.csv", importHeader + "\"李传群,,\n", "import.error.broken"},
		"empty":         {"a.csv", "", "import.error.empty"},
		"too many rows": {"a.csv", importHeader + strings.Repeat(strings.SplitAfter(importRows, "\n")[0], imports.MaxRows+1), "import.error.too_many_rows"},
	} {
		_, err := w.svc.ImportUpload(w.ctx, org, c.file, []byte(c.data), approval.ImportOptions{})
		e := codeOf(t, err, sm.EInvalid)
		if len(e.Fields) != 1 || e.Fields[0].Field != "file" || e.Fields[0].Message.ID != c.want {
			t.Errorf("%s: %+v", name, e.Fields)
		}
	}
	if n := w.count(`SELECT count(*) FROM stock_import`); n != 0 {
		t.Errorf("%d refused files kept", n)
	}
	_, err := w.svc.ImportUpload(w.ctx, clerk, "a.csv", []byte(importHeader+importRows), approval.ImportOptions{})
	codeOf(t, err, sm.EForbidden)
}

// Issue #12: one person, one place, in an import too. 李传群 running at
// 纪委监委 from August and, by a second row, at 政府办 from October: the
// second row is refused on its start date, naming the first, in the
// preview and the commit (the first row is written, the second is not);
// a past term at 政府办 before August is no overlap.
func TestImportRefusesOverlap(t *testing.T) {
	w := newWorld(t, 0)
	_, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	rows := `李传群,,阿克喀什乡,喀什市纪委监委,借调,,重大工程、重点项目,协助查办重大案件,2023-08-01,2024-01-31,仍在借调,,,,
李传群,,阿克喀什乡,喀什市人民政府办公室,借调,,专项工作,专项,2023-10-01,2023-12-31,仍在借调,,,,
李传群,,阿克喀什乡,喀什市人民政府办公室,借调,,专项工作,专项,2023-02-01,2023-04-30,已返回原单位,2023-04-30,,喀市组干字〔2023〕3号,2023-01-20
`
	pre, err := w.svc.ImportUpload(w.ctx, org, "存量.csv", []byte(importHeader+rows), approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, res approval.Import) {
		t.Helper()
		if len(res.Rows) != 3 || res.Rows[0].Outcome != approval.ImportNew || res.Rows[2].Outcome != approval.ImportNew {
			t.Fatalf("%s: %+v", what, res.Rows)
		}
		r := res.Rows[1]
		if r.Outcome != approval.ImportInvalid || len(r.Problems) != 1 || r.Problems[0].Field != "start" ||
			r.Problems[0].Message.ID != "transition.error.overlap" || r.Problems[0].Message.Data["OtherBorrower"] != "喀什市纪委监委" {
			t.Errorf("%s: the overlapping row: %+v", what, r)
		}
	}
	check("preview", pre)
	done, err := w.svc.ImportCommit(w.ctx, org, pre.ID, approval.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("commit", done)
	if n := w.count(`SELECT count(*) FROM secondment`); n != 2 {
		t.Errorf("%d rows written, want 2", n)
	}
}
