package i18n_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"secondment/internal/approval"
	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

// English is a full translation: both languages have exactly the same IDs.
func TestLanguagesHaveTheSameMessages(t *testing.T) {
	c := i18n.MustLoad()
	zh, en := c.IDs(i18n.Chinese), c.IDs(i18n.English)
	if len(zh) == 0 {
		t.Fatal("no Chinese messages")
	}
	for _, id := range zh {
		if !slices.Contains(en, id) {
			t.Errorf("%s has no English translation", id)
		}
	}
	for _, id := range en {
		if !slices.Contains(zh, id) {
			t.Errorf("%s is English only", id)
		}
	}
}

// usedID finds message IDs written literally in code and templates.
var usedID = regexp.MustCompile(`(?:\bT\(ctx, |\.T\(|\bMsg\(|Label: |Hint: |"/[a-z/_-]*", )"([a-z][a-z0-9_]*\.[a-z0-9_.-]*[a-z0-9_])"`)

// Every literal message ID in the code exists in the catalog.
func TestUsedMessagesExist(t *testing.T) {
	c := i18n.MustLoad()
	known := map[string]bool{}
	for _, id := range c.IDs(i18n.Chinese) {
		known[id] = true
	}
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "data" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_templ.go") || strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".templ")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range usedID.FindAllStringSubmatch(string(b), -1) {
			n++
			if !known[m[1]] && !strings.HasSuffix(m[1], ".") {
				t.Errorf("%s uses message %q, which is not in the catalog", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("found only %d message uses; the pattern is broken", n)
	}
}

// IDs built from enumerations ("unit.level." + level) exist for every value.
func TestEnumerationMessagesExist(t *testing.T) {
	c := i18n.MustLoad()
	for _, lang := range i18n.Supported {
		l := c.Localizer(lang)
		var ids []string
		for _, v := range secondment.Levels {
			ids = append(ids, "unit.level."+string(v))
		}
		for _, v := range secondment.Systems {
			ids = append(ids, "unit.system."+string(v))
		}
		for _, v := range secondment.Branches {
			if v != secondment.BranchNone {
				ids = append(ids, "unit.branch."+string(v))
			}
		}
		for _, v := range []approval.ImportOutcome{approval.ImportNew, approval.ImportAlready, approval.ImportInvalid} {
			ids = append(ids, "import.outcome."+string(v))
		}
		for _, v := range secondment.AllStockStatuses {
			ids = append(ids, "stock.status."+string(v))
		}
		for _, v := range i18n.Supported {
			ids = append(ids, "lang."+v)
		}
		for _, r := range auth.AllRoles {
			ids = append(ids, "account.role."+string(r))
		}
		for _, k := range []string{"lockout_threshold", "lockout_window_minutes", "lockout_minutes", "rate_limit_attempts",
			"rate_limit_minutes", "idle_timeout_minutes", "absolute_timeout_hours", "password_min_length", "password_max_age_days"} {
			ids = append(ids, "security."+k)
		}
		// The inbox's tabs (a count-less tab's name, its empty list).
		for _, tab := range approval.Tabs {
			ids = append(ids, "secondment.tab."+string(tab), "secondment.list.empty."+string(tab))
		}
		// The audit chain's problems, and the filter's action groups.
		for _, p := range []string{postgres.ChainHash, postgres.ChainGap, postgres.ChainMissing, postgres.ChainUnlinked,
			postgres.ChainHead, postgres.ChainExpected} {
			ids = append(ids, "audit.chain.problem."+p)
		}
		for _, g := range web.AuditActionGroups {
			ids = append(ids, "audit.group."+strings.TrimSuffix(g, "."))
		}
		// The secondary steps' explanations on a request's page.
		for _, a := range []secondment.Action{secondment.ActFile, secondment.ActTransfer} {
			ids = append(ids, "secondment.hint."+string(a))
		}
		// River's job kinds and states the jobs page names.
		for _, k := range []string{"sweep", "prune_notifications", "deliver_notifications", "audit_verify"} {
			ids = append(ids, "jobs.kind."+k)
		}
		for _, st := range []string{"available", "running", "completed", "retryable", "discarded", "cancelled", "scheduled", "pending"} {
			ids = append(ids, "jobs.state."+st)
		}
		for _, id := range ids {
			if got := l.T(id); strings.HasPrefix(got, "[") {
				t.Errorf("%s: %s missing", lang, id)
			}
		}
	}
}

func TestRenderAndFallback(t *testing.T) {
	c := i18n.MustLoad()
	if got := c.Localizer("en-US").T("person.list.count", "Count", 1); got != "1 person" {
		t.Errorf("en one = %q", got)
	}
	if got := c.Localizer("en").T("person.list.count", "Count", 3); got != "3 people" {
		t.Errorf("en other = %q", got)
	}
	if got := c.Localizer("fr").T("person.list.count", "Count", 3); got != "共 3 人" {
		t.Errorf("an unsupported language must fall back to Chinese, got %q", got)
	}
	// A message written as one string serves a Count of 1 in English too
	// (it showed "[secondment.tab.todo]").
	if got := c.Localizer("en").T("secondment.tab.todo", "Count", 1); got != "To do (1)" {
		t.Errorf("a one-string message with Count 1 = %q", got)
	}
	if got := c.Localizer("zh-CN").T("no.such.id"); got != "[no.such.id]" {
		t.Errorf("missing ID = %q", got)
	}
	// A message without data is rendered once per language and kept: each
	// language keeps its own, asked in either order.
	for range 2 {
		if zh, en := c.Localizer("zh-CN").T("import.leader.yes"), c.Localizer("en").T("import.leader.yes"); zh != "是" || en != "yes" {
			t.Errorf("plain messages: %q, %q", zh, en)
		}
	}
}
