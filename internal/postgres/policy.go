package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// policyRules is how a policy's parameters are stored in policy.rules. It
// names each field for the schema, so renaming a Go field does not
// silently orphan stored data.
type policyRules struct {
	Purposes           []secondment.Purpose    `json:"purposes"`
	MaxLevelGap        int                     `json:"max_level_gap"`
	SameSystem         bool                    `json:"same_system"`
	SystemGroups       [][]secondment.System   `json:"system_groups"`
	Township           secondment.TownshipMode `json:"township"`
	TermMonths         int                     `json:"term_months"`
	RenewalApplyByDays int                     `json:"renewal_apply_by_days"`
	ChainCapMonths     int                     `json:"chain_cap_months"`
	PersonCapMonths    int                     `json:"person_cap_months"`
	PersonWindowMonths int                     `json:"person_window_months"`
	CoolingOffMonths   int                     `json:"cooling_off_months"`
	ConsentLetter      bool                    `json:"consent_letter"`
	ReturnGraceDays    int                     `json:"return_grace_days"`
	CleanupHoldsMajor  bool                    `json:"cleanup_holds_major"`
	TransferInQuota    bool                    `json:"transfer_in_quota"`
	DualFiling         bool                    `json:"dual_filing"`
	BurdenWarnBP       int                     `json:"burden_warn_bp"`
	BorrowerCapBP      int                     `json:"borrower_cap_bp,omitempty"`
	BorrowerCapPeople  int                     `json:"borrower_cap_people,omitempty"`
	KeyPostsExcluded   bool                    `json:"key_posts_excluded,omitempty"`
	Citations          []citation              `json:"citations"`
	Basis              string                  `json:"basis,omitempty"`
}

type citation struct {
	Rule  secondment.RuleID `json:"rule"`
	Quote string            `json:"quote"`
}

func rulesOf(p secondment.Policy) policyRules {
	r := policyRules{Purposes: p.Purposes, MaxLevelGap: p.MaxLevelGap, SameSystem: p.SameSystem,
		SystemGroups: p.SystemGroups, Township: p.Township, TermMonths: p.TermMonths,
		RenewalApplyByDays: p.RenewalApplyByDays, ChainCapMonths: p.ChainCapMonths,
		PersonCapMonths: p.PersonCapMonths, PersonWindowMonths: p.PersonWindowMonths,
		CoolingOffMonths: p.CoolingOffMonths, ReturnGraceDays: p.ReturnGraceDays,
		CleanupHoldsMajor: p.CleanupHoldsMajor, TransferInQuota: p.TransferInQuota,
		DualFiling: p.DualFiling, BurdenWarnBP: p.BurdenWarnBP, ConsentLetter: p.ConsentLetter,
		BorrowerCapBP: p.BorrowerCapBP, BorrowerCapPeople: p.BorrowerCapPeople, Basis: p.Basis,
		KeyPostsExcluded: p.KeyPostsExcluded}
	for _, c := range p.Citations {
		r.Citations = append(r.Citations, citation{c.Rule, c.Quote})
	}
	return r
}

func (r policyRules) policy(preset string, version int, from time.Time) secondment.Policy {
	p := secondment.Policy{Preset: secondment.PresetName(preset), Version: version, EffectiveFrom: dateOf(from),
		Purposes: r.Purposes, MaxLevelGap: r.MaxLevelGap, SameSystem: r.SameSystem,
		SystemGroups: r.SystemGroups, Township: r.Township, TermMonths: r.TermMonths,
		RenewalApplyByDays: r.RenewalApplyByDays, ChainCapMonths: r.ChainCapMonths,
		PersonCapMonths: r.PersonCapMonths, PersonWindowMonths: r.PersonWindowMonths,
		CoolingOffMonths: r.CoolingOffMonths, ReturnGraceDays: r.ReturnGraceDays,
		CleanupHoldsMajor: r.CleanupHoldsMajor, TransferInQuota: r.TransferInQuota,
		DualFiling: r.DualFiling, BurdenWarnBP: r.BurdenWarnBP, ConsentLetter: r.ConsentLetter,
		BorrowerCapBP: r.BorrowerCapBP, BorrowerCapPeople: r.BorrowerCapPeople, Basis: r.Basis,
		KeyPostsExcluded: r.KeyPostsExcluded}
	for _, c := range r.Citations {
		p.Citations = append(p.Citations, secondment.Citation{Rule: c.Rule, Quote: c.Quote})
	}
	return p
}

// dateOf converts a scanned PostgreSQL date (midnight UTC) to a civil date.
func dateOf(t time.Time) secondment.Date { return secondment.D(t.Year(), t.Month(), t.Day()) }

// PolicyImport is a policy version of the jurisdiction named by its code.
type PolicyImport struct {
	secondment.Policy
	JurisdictionCode string
}

// importPolicies adds policy versions that are not stored yet. A stored
// version is never rewritten: requests were judged by it.
func importPolicies(ctx context.Context, tx pgx.Tx, policies []PolicyImport) (added, unchanged int, err error) {
	for _, p := range policies {
		if err := p.Validate(); err != nil {
			return 0, 0, fmt.Errorf("policy %s v%d: %w", p.JurisdictionCode, p.Version, err)
		}
		rules, err := json.Marshal(rulesOf(p.Policy))
		if err != nil {
			return 0, 0, fmt.Errorf("encode policy: %w", err)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO policy (jurisdiction_id, version, preset, effective_from, rules)
			SELECT u.id, $2, $3, $4::date, $5 FROM unit u WHERE u.code = $1
			ON CONFLICT (jurisdiction_id, version) DO NOTHING`,
			p.JurisdictionCode, p.Version, string(p.Preset), p.EffectiveFrom.String(), rules)
		if err != nil {
			return 0, 0, fmt.Errorf("save policy %s v%d: %w", p.JurisdictionCode, p.Version, mapError(err, "policy"))
		}
		if tag.RowsAffected() == 1 {
			added++
			continue
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit WHERE code = $1)`, p.JurisdictionCode).Scan(&exists); err != nil {
			return 0, 0, fmt.Errorf("look up unit %s: %w", p.JurisdictionCode, err)
		}
		if !exists {
			return 0, 0, fmt.Errorf("policy for %s: %w", p.JurisdictionCode, secondment.NotFound("unit"))
		}
		unchanged++
	}
	return added, unchanged, nil
}

// PolicyAll returns every jurisdiction's policy versions, keyed by the
// jurisdiction's unit ID, oldest version first.
func (s *Store) PolicyAll(ctx context.Context) (map[int64][]secondment.Policy, error) {
	return policiesTx(ctx, s.Pool)
}

// UnitAll returns every unit, for building the domain's Hierarchy.
func (s *Store) UnitAll(ctx context.Context) ([]secondment.Unit, error) {
	return unitsTx(ctx, s.Pool)
}

// PolicyAdd stores new versions of jurisdiction root's policy, numbered
// after its last one, oldest first, with their audit event (its object the
// jurisdiction, its detail the versions' numbers and settings). The
// jurisdiction's unit is locked first, so two editors number one after the
// other; with basedOn 0 or more, a policy with another number of versions
// than basedOn (someone saved since the editor began) is a conflict. It
// returns the versions as stored.
func (t *Tx) PolicyAdd(ctx context.Context, root int64, basedOn int, versions []secondment.Policy, e AuditEvent) ([]secondment.Policy, error) {
	if _, err := t.q.Exec(ctx, `SELECT 1 FROM unit WHERE id = $1 FOR NO KEY UPDATE`, root); err != nil {
		return nil, fmt.Errorf("lock unit %d: %w", root, err)
	}
	var last int
	if err := t.q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM policy WHERE jurisdiction_id = $1`, root).Scan(&last); err != nil {
		return nil, fmt.Errorf("last policy version of unit %d: %w", root, err)
	}
	if basedOn >= 0 && last != basedOn {
		return nil, secondment.Errorf(secondment.EConflict, secondment.Msg("policy.error.changed", "Version", last),
			fmt.Errorf("unit %d has policy version %d, the editor began at %d", root, last, basedOn))
	}
	out := make([]secondment.Policy, len(versions))
	added := make([]map[string]any, len(versions))
	for i, p := range versions {
		p.Version = last + 1 + i
		if err := p.Validate(); err != nil {
			return nil, err
		}
		rules := rulesOf(p)
		b, err := json.Marshal(rules)
		if err != nil {
			return nil, fmt.Errorf("encode policy: %w", err)
		}
		if _, err := t.q.Exec(ctx, `INSERT INTO policy (jurisdiction_id, version, preset, effective_from, rules)
		    VALUES ($1, $2, $3, $4, $5)`, root, p.Version, string(p.Preset), dateArg(p.EffectiveFrom), b); err != nil {
			return nil, fmt.Errorf("save policy version %d of unit %d: %w", p.Version, root, mapError(err, "policy"))
		}
		out[i] = p
		added[i] = map[string]any{"version": p.Version, "preset": p.Preset, "effective_from": p.EffectiveFrom.String(), "rules": rules}
	}
	e.ObjectType, e.ObjectID = "unit", root
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	e.Detail["versions"] = added
	return out, auditInsert(ctx, t.q, e)
}

// PolicyPreview judges jurisdiction root's requests still in the chain as
// the next decision would by p, and its running secondments as the policy
// sweep would (whichever version they were approved under, so that the
// version in force can be previewed too, for comparison), without writing
// anything: the preview of a new version.
func (s *Store) PolicyPreview(ctx context.Context, h *secondment.Hierarchy, root int64, p secondment.Policy) (pending, running secondment.PolicyImpact, err error) {
	count := func(into *secondment.PolicyImpact, keep func(secondment.Violation) bool) func(SecondmentRecord, secondment.Violations) {
		into.Rules = map[secondment.RuleID]int{}
		return func(_ SecondmentRecord, vs secondment.Violations) { into.Add(vs, keep) }
	}
	err = s.ReadTx(ctx, func(tx *Tx) error {
		// A request sent back is judged again when it is resubmitted.
		if _, err := judgeJurisdiction(ctx, tx.q, h, root, p, []secondment.State{secondment.StateAwaitingConsent,
			secondment.StateAwaitingSignoff, secondment.StateSentBack}, math.MaxInt32,
			count(&pending, func(secondment.Violation) bool { return true })); err != nil {
			return err
		}
		_, err := judgeJurisdiction(ctx, tx.q, h, root, p, []secondment.State{secondment.StateApproved,
			secondment.StateActive}, math.MaxInt32,
			count(&running, func(v secondment.Violation) bool { return slices.Contains(reachedRules, v.Rule) }))
		return err
	})
	return pending, running, err
}
