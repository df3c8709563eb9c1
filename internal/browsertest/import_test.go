package browsertest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"secondment/internal/browsertest"
	"secondment/internal/sheet"
)

// A registrar imports a clerk's CSV: the preview shows each row's outcome
// and writes nothing, the commit registers the valid rows, the ledger
// lists them, and its Excel export downloads with the same rows.
func TestImportPreviewCommitLedgerExport(t *testing.T) {
	t.Parallel()
	base := newServer(t)
	b := browsertest.New(t)
	file := filepath.Join(t.TempDir(), "存量.csv")
	csv := "姓名,人员编号,原单位（借出单位）,借用单位,类别,本地称谓,借调事由,具体任务,开始日期,结束日期,借调现状,返回日期,调入方式,审批文号,审批日期\n" +
		"李传群,,阿克喀什乡,喀什市纪委监委,借调,,重大工程、重点项目,协助查办重大案件,2023/8/1,2024年1月31日,仍在借调,,,,\n" +
		"吐逊江·买买提,,阿克喀什乡,喀什市纪委监委,借调,,专项工作,乡村振兴专项,2023-02-01,2023-04-30,已返回原单位,2023-04-30,,,\n" +
		"李传群,,不存在乡,喀什市纪委监委,借调,,专项工作,专项,2022-01-01,2022-03-01,已返回原单位,2022-03-01,,,\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}

	b.SignIn(base, "xj-ks-zzb.registrar", demoPassword)
	b.Go(base + "/ledger")
	b.ClickAndWait(`[data-testid=ledger-import]`)
	b.Upload(`[data-testid=import-file]`, file)
	b.Click(`[data-testid=import-create-people]`)
	b.ClickAndWait(`[data-testid=import-upload]`)
	if got := b.Text(`[data-testid=import-counts]`); !strings.Contains(got, "新登记 2 条") || !strings.Contains(got, "有错误 1 条") {
		t.Fatalf("preview counts: %q", got)
	}
	if !b.Exists(`tr[data-testid=import-row][data-outcome=invalid] [data-testid=import-problem]`) {
		t.Error("the row naming an unknown unit shows no problem")
	}
	b.Go(base + "/ledger?registered=true")
	if !b.Exists(`[data-testid=ledger-empty]`) {
		t.Fatal("the preview wrote to the ledger")
	}
	b.Go(base + "/ledger/import")
	b.Upload(`[data-testid=import-file]`, file)
	b.Click(`[data-testid=import-create-people]`)
	b.ClickAndWait(`[data-testid=import-upload]`)
	b.ClickAndWait(`[data-testid=import-commit]`)
	if got := b.Text(`[data-testid=import-counts]`); !strings.Contains(got, "新登记 2 条") {
		t.Fatalf("commit counts: %q", got)
	}
	b.ClickAndWait(`[data-testid=import-ledger]`)
	if got := b.Text(`[data-testid=ledger-total]`); !strings.Contains(got, "共 2 条") {
		t.Errorf("ledger total after the import: %q", got)
	}
	path := b.Download(`[data-testid=ledger-xlsx]`)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := sheet.Read("ledger.xlsx", f, sheet.Limits{})
	if err != nil {
		t.Fatalf("the downloaded export: %v", err)
	}
	col := tab.Column("拟借调人员")
	if len(tab.Rows) != 2 || col < 0 {
		t.Fatalf("export has %d rows, header %v", len(tab.Rows), tab.Header)
	}
	var names []string
	for _, r := range tab.Rows {
		names = append(names, r.Cells[col].Text)
	}
	if !strings.Contains(strings.Join(names, ","), "吐逊江·买买提") {
		t.Errorf("export names %v, want the person the import added", names)
	}
}
