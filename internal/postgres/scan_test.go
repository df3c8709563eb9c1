package postgres_test

import (
	"context"
	"reflect"
	"testing"

	"secondment/internal/dbtest"
	"secondment/internal/postgres"
)

// TestRowsScanInTheirColumnsOrder: the rows of a request are scanned by
// position, so each target must be the field its column names, for every
// query that selects them: the i-th target is the field tagged with the
// i-th column's name, and every tagged field is a target.
func TestRowsScanInTheirColumnsOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, _ := dbtest.URLs(t)
	store, err := postgres.Open(ctx, url, postgres.ConnectOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, c := range postgres.ScanCases() {
		rows, err := store.Pool.Query(ctx, c.SQL, c.Args...)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for rows.Next() {
		}
		fields := rows.FieldDescriptions()
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		tags := fieldTags(reflect.ValueOf(c.Row).Elem(), map[uintptr]string{})
		if len(c.Targets) != len(fields) || len(tags) != len(fields) {
			t.Fatalf("%s: %d targets and %d tagged fields for %d columns", c.Name, len(c.Targets), len(tags), len(fields))
		}
		for i, f := range fields {
			if got := tags[reflect.ValueOf(c.Targets[i]).Pointer()]; got != f.Name {
				t.Errorf("%s: column %d is %q, scanned into the field tagged %q", c.Name, i+1, f.Name, got)
			}
		}
	}
}

// fieldTags maps the address of each field of v tagged db, embedded
// structs' included, to its tag.
func fieldTags(v reflect.Value, out map[uintptr]string) map[uintptr]string {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Anonymous {
			fieldTags(v.Field(i), out)
			continue
		}
		if tag := f.Tag.Get("db"); tag != "" {
			out[v.Field(i).Addr().Pointer()] = tag
		}
	}
	return out
}
