package postgres

// ScanCase is a query whose rows are scanned by position: a row's struct
// (a pointer) and its scan targets, for TestRowsScanInTheirColumnsOrder.
type ScanCase struct {
	Name    string
	SQL     string
	Args    []any
	Row     any
	Targets []any
}

// ScanCases are the queries of a request scanned by position, each
// selecting no row.
func ScanCases() []ScanCase {
	var loaded loadedRow
	var with withDecisions
	var row secondmentRow
	return []ScanCase{
		{"loadSQL", loadSQL, []any{int64(-1), int64(0)}, &loaded, loaded.targets(nil)},
		{"a page", loadPageQuery("$1", `SELECT id, created_at FROM secondment WHERE id = -1`), []any{int64(0)}, &loaded, loaded.targets(nil)},
		{"secondmentGet", secondmentGetSQL, []any{int64(-1)}, &with, with.targets(nil)},
		{"secondmentSelect", secondmentSelect + ` WHERE s.id = -1`, nil, &row, row.targets(nil)},
	}
}
