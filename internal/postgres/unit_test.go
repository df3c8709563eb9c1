package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

func ptr(n int) *int { return &n }

func sampleUnits() []postgres.UnitImport {
	return []postgres.UnitImport{
		{Unit: secondment.Unit{Code: "C", Name: "某市", Level: secondment.LevelCity, System: secondment.SystemGeneral}},
		{ParentCode: "C", Unit: secondment.Unit{Code: "C-ZZB", Name: "某市委组织部", Level: secondment.LevelCity,
			System: secondment.SystemGeneral, Branch: secondment.BranchParty, StaffingQuota: ptr(40), PostQuota: ptr(8), Headcount: ptr(38)}},
		{ParentCode: "C", Unit: secondment.Unit{Code: "C-D", Name: "某区", Level: secondment.LevelCounty, System: secondment.SystemGeneral}},
		{ParentCode: "C-D", Unit: secondment.Unit{Code: "C-D-T", Name: "某镇", Level: secondment.LevelTownship,
			System: secondment.SystemGeneral, StaffingQuota: ptr(25), PostQuota: ptr(5), Headcount: ptr(23)}},
	}
}

func TestImportAndTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	people := []postgres.PersonImport{
		{HomeUnitCode: "C-D-T", Person: secondment.Person{Code: "P1", Name: "张三", Post: "科员", Rank: "一级科员"}},
		{HomeUnitCode: "C-D-T", Person: secondment.Person{Code: "P2", Name: "李四"}},
		{HomeUnitCode: "C-ZZB", Person: secondment.Person{Code: "P3", Name: "王五"}},
	}
	res, err := s.Import(ctx, postgres.Import{Units: sampleUnits(), People: people})
	if err != nil {
		t.Fatal(err)
	}
	if res.UnitsAdded != 4 || res.PeopleAdded != 3 {
		t.Fatalf("first import: %+v", res)
	}

	tree, err := s.UnitTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	byCode := map[string]secondment.UnitNode{}
	for _, n := range tree {
		order = append(order, n.Code)
		byCode[n.Code] = n
	}
	// The city's own organ (city level) sorts before its district.
	want := []string{"C", "C-ZZB", "C-D", "C-D-T"}
	if len(order) != len(want) {
		t.Fatalf("tree order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("tree order %v, want %v", order, want)
		}
	}
	town := byCode["C-D-T"]
	if town.Depth != 2 || town.ParentName != "某区" || town.People != 2 || *town.Headcount != 23 {
		t.Errorf("township node = %+v", town)
	}
	if byCode["C"].StaffingQuota != nil {
		t.Errorf("a region without a quota must keep it NULL, got %v", *byCode["C"].StaffingQuota)
	}

	all, err := s.PersonList(ctx, postgres.PersonPage{Limit: 10})
	if err != nil || len(all) != 3 {
		t.Fatalf("PersonList = %d, %v; want 3", len(all), err)
	}
	some, err := s.PersonList(ctx, postgres.PersonPage{Units: []int64{town.ID}, Limit: 10})
	if err != nil || len(some) != 2 || some[0].HomeUnitName != "某镇" {
		t.Fatalf("PersonList(C-D-T) = %+v, %v", some, err)
	}
	// Keyset pages: one person per page, each after the last, until none.
	var codes []string
	for after := ""; ; {
		page, err := s.PersonList(ctx, postgres.PersonPage{AfterCode: after, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		after = page[0].Code
		codes = append(codes, after)
	}
	if len(codes) != 3 || !slices.IsSorted(codes) {
		t.Errorf("paged codes %v", codes)
	}

	// The same import again writes nothing.
	res, err = s.Import(ctx, postgres.Import{Units: sampleUnits(), People: people})
	if err != nil {
		t.Fatal(err)
	}
	if res.UnitsAdded+res.UnitsUpdated+res.PeopleAdded+res.PeopleUpdated != 0 || res.UnitsUnchanged != 4 || res.PeopleUnchanged != 3 {
		t.Fatalf("second import changed something: %+v", res)
	}
	// A changed value is an update.
	units := sampleUnits()
	units[3].Headcount = ptr(22)
	res, err = s.Import(ctx, postgres.Import{Units: units})
	if err != nil || res.UnitsUpdated != 1 || res.UnitsUnchanged != 3 {
		t.Fatalf("import with one change: %+v, %v", res, err)
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	units := sampleUnits()
	// A county under a township is upside down: the whole import must fail.
	units = append(units, postgres.UnitImport{ParentCode: "C-D-T",
		Unit: secondment.Unit{Code: "BAD", Name: "倒挂", Level: secondment.LevelCounty, System: secondment.SystemGeneral}})
	_, err := s.Import(ctx, postgres.Import{Units: units})
	if secondment.ErrorCodeOf(err) != secondment.EInvalid {
		t.Fatalf("import with an inverted parent = %v; want invalid", err)
	}
	if n, _, _ := s.UnitCount(ctx); n != 0 {
		t.Fatalf("a failed import left %d units behind", n)
	}

	_, err = s.Import(ctx, postgres.Import{Units: sampleUnits(), People: []postgres.PersonImport{{HomeUnitCode: "NOPE", Person: secondment.Person{Code: "X", Name: "某"}}}})
	var de *secondment.Error
	if !errors.As(err, &de) || de.Code != secondment.ENotFound {
		t.Fatalf("person with an unknown unit = %v; want not found", err)
	}
	if n, _, _ := s.UnitCount(ctx); n != 0 {
		t.Fatalf("a failed import left %d units behind", n)
	}
}

func TestUnitGetByCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	if _, err := s.Import(ctx, postgres.Import{Units: sampleUnits()}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UnitGetByCode(ctx, "C-ZZB")
	if err != nil || u.Name != "某市委组织部" || u.Branch != secondment.BranchParty || *u.PostQuota != 8 {
		t.Fatalf("UnitGetByCode = %+v, %v", u, err)
	}
	if _, err := s.UnitGetByCode(ctx, "NONE"); secondment.ErrorCodeOf(err) != secondment.ENotFound {
		t.Fatalf("missing unit: %v; want not found", err)
	}
}

func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	for name, q := range map[string]string{
		"bad level":           `INSERT INTO unit (code, name, level, system) VALUES ('A', 'a', 'village', 'general')`,
		"branch outside line": `INSERT INTO unit (code, name, level, system, branch) VALUES ('A', 'a', 'city', 'court', 'party')`,
		"negative quota":      `INSERT INTO unit (code, name, level, system, headcount) VALUES ('A', 'a', 'city', 'general', -1)`,
		"lower-case code":     `INSERT INTO unit (code, name, level, system) VALUES ('a', 'a', 'city', 'general')`,
	} {
		if _, err := s.Pool.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted by the schema", name)
		}
	}
}
