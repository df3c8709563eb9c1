package server_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// Templates render use-case types, never store records: a column change in
// the store must not ripple into the views. No file under web/ imports
// internal/postgres.
func TestWebDoesNotImportTheStore(t *testing.T) {
	files, err := filepath.Glob("../../web/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no web files: %v", err)
	}
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "secondment/internal/postgres" {
				t.Errorf("%s imports the store", filepath.Base(f))
			}
		}
	}
}
