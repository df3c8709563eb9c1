package secondment_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"secondment/internal/i18n"
	"secondment/internal/secondment"
)

var catalog = i18n.MustLoad()

// literalIDs finds the message IDs written out in the package's source.
func literalIDs(t *testing.T) []string {
	t.Helper()
	id := regexp.MustCompile(`^(policy|transition|state|action|role|rule|preset|purpose|kind|alias|severity|township|transfer|notify|event|secondment|jurisdiction|date|error|unit|person)\.[A-Za-z0-9_.]*[A-Za-z0-9_]$`)
	files, _ := filepath.Glob("*.go")
	var ids []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && id.MatchString(s) {
					ids = append(ids, s)
				}
			}
			return true
		})
	}
	return ids
}

// sample fills every template field of the catalog with a value.
func sample() map[string]any {
	data := map[string]any{}
	field := regexp.MustCompile(`\{\{\.(\w+)\}\}`)
	names, _ := filepath.Glob("../i18n/messages/*.json")
	for _, name := range names {
		b, _ := os.ReadFile(name)
		for _, m := range field.FindAllStringSubmatch(string(b), -1) {
			data[m[1]] = 7
		}
	}
	return data
}

func TestCatalog(t *testing.T) {
	var files [2]map[string]string
	for i, name := range []string{"policy.zh-CN.json", "policy.en.json"} {
		b, err := os.ReadFile("../i18n/messages/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &files[i]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for id := range files[0] {
		if _, ok := files[1][id]; !ok {
			t.Errorf("%s: in zh-CN only", id)
		}
	}
	for id := range files[1] {
		if _, ok := files[0][id]; !ok {
			t.Errorf("%s: in en only", id)
		}
	}

	ids := append(literalIDs(t), secondment.EmittableIDs()...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) < 150 {
		t.Fatalf("only %d ids found", len(ids))
	}
	data := sample()
	for _, lang := range i18n.Supported {
		known := catalog.IDs(lang)
		loc := catalog.Localizer(lang)
		for _, id := range ids {
			if _, ok := slices.BinarySearch(known, id); !ok {
				t.Errorf("%s: %s missing", lang, id)
				continue
			}
			if s := loc.Message(secondment.Message{ID: id, Data: data}); strings.HasPrefix(s, "[") || strings.Contains(s, "<no value>") {
				t.Errorf("%s: %s renders %q", lang, id, s)
			}
		}
	}
}

// render is a message in both languages, failing on a missing or
// incompletely rendered one.
func render(t *testing.T, m secondment.Message) (zh, en string) {
	t.Helper()
	zh, en = catalog.Localizer(i18n.Chinese).Message(m), catalog.Localizer(i18n.English).Message(m)
	for _, s := range []string{zh, en} {
		if strings.HasPrefix(s, "[") || strings.Contains(s, "<no value>") {
			t.Errorf("%s renders %q", m.ID, s)
		}
	}
	return zh, en
}
