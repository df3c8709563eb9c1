package secondment_test

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"secondment/internal/i18n"
	sm "secondment/internal/secondment"
)

func pick[T any](xs []T, i uint8) T { return xs[int(i)%len(xs)] }

// FuzzEvaluate throws arbitrary requests at every preset version: nothing
// panics, every violation names a valid rule and a message both languages
// have, and every refusal of a submission names a rule.
func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(1), uint8(2), uint8(3), uint8(0), uint8(0), uint8(1), uint8(3), uint8(0), uint8(0), int16(10), int16(90), int16(0), int16(0), int16(23), int16(3), false)
	f.Add(uint8(2), uint8(0), uint8(3), uint8(0), uint8(3), uint8(1), uint8(3), uint8(1), uint8(0), int16(-5), int16(200), int16(92), int16(92), int16(0), int16(0), true)
	ids := map[string][]string{}
	for _, lang := range i18n.Supported {
		ids[lang] = catalog.IDs(lang)
	}
	f.Fuzz(func(t *testing.T, preset, version, purpose, kind, alias, bLevel, lLevel, bSys, lSys uint8,
		startOff, length, prevLen, gap, headcount, away int16, renewal bool) {
		versions := sm.Preset(pick(sm.AllPresets, preset))
		pol := pick(versions, version)
		today := sm.D(2024, 6, 1)
		start := today.AddDays(int(startOff))
		hc := int(headcount)
		b := sm.Unit{ID: 1, Name: "甲", Level: pick(sm.Levels, bLevel), System: pick(sm.Systems, bSys), StaffingQuota: &hc, Headcount: &hc}
		l := sm.Unit{ID: 2, Name: "乙", Level: pick(sm.Levels, lLevel), System: pick(sm.Systems, lSys), Headcount: &hc}
		s := sm.Secondment{ID: 10, State: sm.StateDraft, Kind: pick(sm.AllKinds, kind), Alias: pick(sm.AllAliases, alias),
			Purpose: pick(sm.AllPurposes, purpose), Task: "任务", PersonID: 1, BorrowerID: 1, LenderID: 2,
			Start: start, End: start.AddDays(int(length))}
		var history []sm.Secondment
		if prevLen != 0 {
			prevEnd := start.AddDays(-1 - int(gap))
			prev := sm.Secondment{ID: 9, State: sm.StateActive, Kind: sm.KindSecondment, PersonID: 1, BorrowerID: 1, LenderID: 2,
				Start: prevEnd.AddDays(-int(prevLen)), End: prevEnd}
			if renewal {
				s.PreviousID = prev.ID
			} else {
				prev.State = sm.StateReturned
			}
			history = append(history, prev)
		}
		facts := sm.Facts{Jurisdiction: "某市", Borrower: b, Lender: l, History: history, LenderAway: int(away)}

		sub := s
		sub.SubmittedOn = today
		vs := sm.Evaluate(pol, sub, facts)
		vs = append(vs, sm.CheckTransferIn(pol, s, sm.TransferFacts{Borrower: b, Pending: int(away), Leadership: renewal})...)
		vs = append(vs, sm.Audit(pol, sub, today.AddDays(int(gap)))...)
		for _, v := range vs {
			if !v.Rule.Valid() || !slices.Contains(sm.AllSeverities, v.Severity) {
				t.Fatalf("bad violation %+v", v)
			}
			for lang, known := range ids {
				if _, ok := slices.BinarySearch(known, v.Message.ID); !ok {
					t.Fatalf("%s: no message %s", lang, v.Message.ID)
				}
			}
		}

		j := sm.Jurisdiction{Root: sm.Unit{ID: 100, Name: "某市"}, OrgDept: sm.Unit{ID: 101}, Policies: versions}
		_, err := sm.Transition(s, sm.Actor{UserID: 5, Role: sm.RoleBorrower, UnitID: 1},
			sm.Input{Action: sm.ActSubmit, Jurisdiction: &j, Facts: &facts}, sm.At(today))
		var e *sm.Error
		if errors.Is(err, sm.ErrPolicyViolation) {
			if !errors.As(err, &e) || len(e.Rules()) == 0 {
				t.Fatalf("a refusal without a rule: %v", err)
			}
		} else if err != nil && sm.ErrorCodeOf(err) != sm.EInvalid && sm.ErrorCodeOf(err) != sm.ENotFound {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// The domain imports the standard library only: no pgx, net/http or templ.
func TestStdlibOnly(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(strings.Split(p, "/")[0], ".") || strings.HasPrefix(p, "net/http") || strings.HasPrefix(p, "secondment/") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
