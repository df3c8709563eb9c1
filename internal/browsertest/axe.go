package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (testdata/README.md says which version and under
// which licence). It is compiled into the tests only: nothing outside
// the tests imports this package.
//
//go:embed testdata/axe.min.js
var axeSource string

// AxeViolation is one accessibility rule that axe-core finds broken on a
// page, with the elements that break it.
type AxeViolation struct {
	ID     string    `json:"id"`     // the rule, e.g. "color-contrast"
	Impact string    `json:"impact"` // "serious" or "critical" from Axe
	Help   string    `json:"help"`
	Nodes  []AxeNode `json:"nodes"`
}

// AxeNode is one element that breaks a rule.
type AxeNode struct {
	Target  string `json:"target"`  // a CSS selector for the element
	HTML    string `json:"html"`    // its opening tag, cut at 200 characters
	Summary string `json:"summary"` // what is wrong, in axe's words
}

func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t\t%s %s\n\t\t\t%s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// axeRun runs axe on the document less the elements matching the
// selectors in the JSON array %s, and keeps the violations of impact
// serious or critical. Only violations are computed (the passes and
// incomplete lists cost time and are not read).
const axeRun = `axe.run({exclude: %s.map(s => [s])}, {resultTypes: ["violations"]}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({
		target: n.target.map(t => Array.isArray(t) ? t.join(" >> ") : t).join(" "),
		html: n.html.slice(0, 200),
		summary: n.failureSummary || "",
	}))})))`

// Axe checks the page shown with axe-core, injected into it for the check
// (the service never serves it), and returns the violations of impact
// serious or critical; none is an empty slice. Elements matching exclude
// (CSS selectors) are left out, such as the hundredth row of a list
// whose first rows are checked already.
//
// The first call has the tab load axe-core into the page shown and into
// every page it opens afterwards: sending its 650 kB at each check cost
// more than the check itself.
func (b *Browser) Axe(exclude ...string) []AxeViolation {
	b.t.Helper()
	var out []AxeViolation
	b.step("check accessibility with axe-core", "", func(ctx context.Context) (err error) {
		if !b.axeLoaded {
			now := true
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: axeSource, RunImmediately: &now}); err != nil {
				return fmt.Errorf("load axe-core: %w", err)
			}
			b.axeLoaded = true
		}
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`)); err != nil || !ok {
			// A page opened before the first call, or in a frame the
			// script missed.
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
				return fmt.Errorf("inject axe-core: %w", err)
			}
		}
		if exclude == nil {
			exclude = []string{}
		}
		sel, err := json.Marshal(exclude)
		if err != nil {
			return err
		}
		out, err = chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](fmt.Sprintf(axeRun, sel), chromedp.EvalAwaitPromise))
		return err
	})
	return out
}
