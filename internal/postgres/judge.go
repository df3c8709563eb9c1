package postgres

import (
	"context"
	"fmt"
	"slices"

	"secondment/internal/secondment"
)

// Judging a jurisdiction's requests by one policy version, in bulk: the
// policy sweep flags the running secondments a new version forbids, and the
// policy editor previews what a version would flag before it is saved.
// The facts are read for all requests at once (histories by chunks of
// people, the people held by each borrowing unit in one query) so that a
// jurisdiction of tens of thousands of requests takes a few round trips,
// not two per request.

// judgeChunk is how many people's histories one query reads.
const judgeChunk = 5000

// historiesSQL is historySQL for many people, grouped by person.
const historiesSQL = `SELECT ` + historyColumns + `
FROM secondment WHERE person_id = ANY($1) ORDER BY person_id, start_date, id`

// judgeJurisdiction judges the chain requests (registered stock is judged
// at registration) of jurisdiction root in states, recorded under a version
// older than below, by p, and calls fn with each and its violations, in ID
// order. The lending unit's load (R14) is not read: it only ever warns.
// For R15, a running secondment counts only the people its borrowing unit
// took before it (secondment.HeldDuring), so that a new limit flags the
// last ones taken, not all.
func judgeJurisdiction(ctx context.Context, q dbtx, h *secondment.Hierarchy, root int64, p secondment.Policy,
	states []secondment.State, below int, fn func(SecondmentRecord, secondment.Violations)) (int, error) {
	st := make([]string, len(states))
	for i, s := range states {
		st[i] = string(s)
	}
	recs, err := collectSecondments(q.Query(ctx, secondmentSelect+`
	    WHERE s.jurisdiction_id = $1 AND s.state = ANY($2) AND s.registered_on IS NULL AND pol.version < $3
	    ORDER BY s.id`, root, st, below))
	if err != nil {
		return 0, fmt.Errorf("requests of jurisdiction %d: %w", root, err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	histories, err := historiesOf(ctx, q, recs)
	if err != nil {
		return 0, err
	}
	var holds map[int64][]secondment.HeldTerm
	if p.HasBorrowerCap() {
		units := make([]int64, 0, len(recs))
		for _, r := range recs {
			units = append(units, r.BorrowerID)
		}
		slices.Sort(units)
		if holds, err = heldTerms(ctx, q, slices.Compact(units)); err != nil {
			return 0, err
		}
	}
	cal, err := calendarTx(ctx, q) // R6's apply-by moves past holidays, as at a step
	if err != nil {
		return 0, err
	}
	unit, _ := h.Unit(root)
	for _, rec := range recs {
		f := secondment.Facts{Jurisdiction: unit.Name, Calendar: cal}
		f.Borrower, _ = h.Unit(rec.BorrowerID)
		f.Lender, _ = h.Unit(rec.LenderID)
		for _, hr := range histories[rec.PersonID] {
			if hr.ID != rec.ID {
				f.History = append(f.History, hr.Secondment)
			}
		}
		if holds != nil {
			f.BorrowerHeld = secondment.HeldDuring(holds[rec.BorrowerID], rec.Secondment)
		}
		fn(rec, secondment.Evaluate(p, rec.Secondment, f))
	}
	return len(recs), nil
}

// historiesOf reads the requests of the people of recs, by person.
func historiesOf(ctx context.Context, q dbtx, recs []SecondmentRecord) (map[int64][]SecondmentRecord, error) {
	people := make([]int64, 0, len(recs))
	for _, r := range recs {
		people = append(people, r.PersonID)
	}
	slices.Sort(people)
	people = slices.Compact(people)
	out := make(map[int64][]SecondmentRecord, len(people))
	for chunk := range slices.Chunk(people, judgeChunk) {
		rows, err := collectHistory(q.Query(ctx, historiesSQL, chunk))
		if err != nil {
			return nil, fmt.Errorf("histories of %d people: %w", len(chunk), err)
		}
		for _, r := range rows {
			out[r.PersonID] = append(out[r.PersonID], r)
		}
	}
	return out, nil
}
