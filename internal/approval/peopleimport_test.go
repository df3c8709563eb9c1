package approval_test

import (
	"testing"

	"secondment/internal/approval"
	"secondment/internal/imports"
	sm "secondment/internal/secondment"
)

func (w *world) text(sql string, args ...any) string {
	w.t.Helper()
	var s string
	if err := w.s.Pool.QueryRow(w.ctx, sql, args...).Scan(&s); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// A people file: rows are matched by code, or by name at their home unit;
// a row adds, updates or leaves a person as is; every bad row is refused
// on its column and writes nothing; the preview writes nothing; a second
// commit changes nothing; and the upload is its uploader's, as a people
// file only.
func TestPeopleImport(t *testing.T) {
	w := newWorld(t, 0)
	clerk, _, org := w.kashgar()
	w.on(sm.D(2024, 6, 1))
	li := w.text(`SELECT code FROM person WHERE name = '李传群'`)
	baotou := w.text(`SELECT code FROM person WHERE name = '芦长丽'`) // outside Kashgar
	file := "姓名,人员编号,所在单位,职务,职级,是否领导职务,备注\n" +
		"王新,ks-new-1,阿克喀什乡,科员,一级科员,否,\n" + // new, the code upper-cased
		"李传群,,阿克喀什乡,副乡长,,,\n" + // by name at the unit: the post changes, the rank stays
		"王新,KS-NEW-1,XJ-KS-AKKS,科员,一级科员,否,\n" + // the first row again, the unit by code: unchanged
		"张三," + baotou + ",阿克喀什乡,,,,\n" + // someone else's code, outside the jurisdiction
		"张三," + li + ",阿克喀什乡,,,,\n" + // a code of another name
		"张三,,不存在乡,,,,\n" + // no such unit
		"张三,,阿克喀什乡,,,也许,\n" + // not yes or no
		"张三,A B,阿克喀什乡,,,,\n" + // not a code
		",,阿克喀什乡,,,,\n" // no name
	people := w.count(`SELECT count(*) FROM person`)
	pre, err := w.svc.PeopleImportUpload(w.ctx, org, "人员.csv", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	outcomes := func(imp approval.PeopleImport) string {
		var s string
		for _, r := range imp.Rows {
			s += string(r.Outcome)[:1]
		}
		return s
	}
	if got := outcomes(pre); got != "nuaiiiiii" || pre.New != 1 || pre.Updated != 1 || pre.Already != 1 || pre.Invalid != 6 {
		t.Fatalf("preview outcomes %s: %+v", got, pre)
	}
	for i, field := range map[int]string{3: "person_code", 4: "person_code", 5: "home_unit", 6: "leader", 7: "person_code", 8: "person"} {
		problemAtField(t, pre.Rows[i].Problems, pre.Rows[i].Line, field)
	}
	if c := pre.Rows[1].Changed; len(c) != 1 || c[0] != "post" {
		t.Errorf("changed: %v", c)
	}
	if n := w.count(`SELECT count(*) FROM person`); n != people {
		t.Fatalf("a preview changed the register: %d people, %d before", n, people)
	}
	if post := w.text(`SELECT post FROM person WHERE name = '李传群'`); post != "科员" {
		t.Fatalf("a preview changed a post to %s", post)
	}

	done, err := w.svc.PeopleImportCommit(w.ctx, org, pre.ID)
	if err != nil || outcomes(done) != "nuaiiiiii" || !done.Committed {
		t.Fatalf("commit %s: %+v, %v", outcomes(done), done, err)
	}
	if got := w.text(`SELECT p.code || ' ' || u.code || ' ' || p.post || ' ' || p.leader FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE p.name = '王新'`); got != "KS-NEW-1 XJ-KS-AKKS 科员 false" {
		t.Errorf("added: %s", got)
	}
	if got := w.text(`SELECT post || ' ' || rank FROM person WHERE name = '李传群'`); got != "副乡长 一级科员" {
		t.Errorf("updated: %s", got)
	}
	for action, want := range map[string]int{"person.create": 1, "person.update": 1, "people.import": 1, "people.upload": 1} {
		if n := w.count(`SELECT count(*) FROM audit_event WHERE action = $1`, action); n != want {
			t.Errorf("%d %s audit events, want %d", n, action, want)
		}
	}
	again, err := w.svc.PeopleImportCommit(w.ctx, org, pre.ID)
	if err != nil || outcomes(again) != "aaaiiiiii" {
		t.Errorf("again %s: %+v, %v", outcomes(again), again, err)
	}
	if n := w.count(`SELECT count(*) FROM person`); n != people+1 {
		t.Errorf("%d people after two commits, want %d", n, people+1)
	}

	// The upload is its uploader's, and a people file only.
	other := w.actor("XJ-KS-ZZB", sm.RoleRegistrar, "另一位台账管理员")
	_, err = w.svc.PeopleImportPreview(w.ctx, other, pre.ID)
	codeOf(t, err, sm.ENotFound)
	_, err = w.svc.ImportPreview(w.ctx, org, pre.ID, approval.ImportOptions{})
	codeOf(t, err, sm.ENotFound)
	// A borrowing unit's clerk keeps no register.
	_, err = w.svc.PeopleImportUpload(w.ctx, clerk, "人员.csv", []byte(file))
	codeOf(t, err, sm.EForbidden)
	// A file without the required columns is refused whole, naming them.
	_, err = w.svc.PeopleImportUpload(w.ctx, org, "人员.csv", []byte("姓名,职务\n王新,科员\n"))
	codeOf(t, err, sm.EInvalid)
}

// problemAtField fails t unless one of a row's problems is on field.
func problemAtField(t *testing.T, ps []imports.Problem, line int, field string) {
	t.Helper()
	for _, p := range ps {
		if p.Field == field {
			return
		}
	}
	t.Errorf("line %d: no problem on %s: %+v", line, field, ps)
}
