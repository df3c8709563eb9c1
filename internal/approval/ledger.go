package approval

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// LedgerQuery is the ledger's filter as a page's query string or an API
// call brings it; every field is optional.
type LedgerQuery struct {
	As                   string   // the role to list as: orgdept, registrar, borrower or lender
	States               []string // secondment.State values
	Kind, Alias, Purpose string   // Alias "none": no local name
	Level, System        string   // of the lending unit
	BorrowerID, LenderID int64
	From, To             string // the term overlaps [From, To]
	EndFrom, EndTo       string // the term ends within [EndFrom, EndTo]
	Unrenewed            bool   // no renewal asked for
	Overdue, Irregular   bool
	Renewals, Registered bool
	Import               int64  // the rows of one import file
	Q                    string // in the person's name or the number
	Sort                 string // "start" (default) or "end"
	After                string // the cursor of the page before
}

// LedgerStates are the states the ledger lists.
var LedgerStates = postgres.LedgerStates

// LedgerPageSize is the rows of a ledger page.
const LedgerPageSize = 50

// LedgerCountMax bounds the count of a filter: beyond it the page says
// "10000+".
const LedgerCountMax = 10000

// Ledger is one page of the ledger.
type Ledger struct {
	As    secondment.Role
	Roles []secondment.Role // the roles u may list the ledger as
	Rows  []secondment.LedgerLine
	Total int  // rows of the filter, up to LedgerCountMax
	More  bool // more than LedgerCountMax
	Next  string
	// CanRegister: u keeps the ledger (org dept, registrar) and so
	// registers and imports existing secondments.
	CanRegister bool
	// CanCampaign: u is the org dept, listing as such, and may open a
	// clean-up campaign over the rows shown.
	CanCampaign bool
}

// ledgerRoles are the roles of u that have a ledger, the org dept's first.
func ledgerRoles(u auth.User) []secondment.Role {
	var out []secondment.Role
	for _, r := range []secondment.Role{secondment.RoleOrgDept, secondment.RoleRegistrar, secondment.RoleBorrower, secondment.RoleLender} {
		if holds(u, r) {
			out = append(out, r)
		}
	}
	return out
}

// ledgerFilter reads q for u, every problem at once as field errors.
func ledgerFilter(u auth.User, q LedgerQuery) (postgres.LedgerFilter, []secondment.Role, error) {
	roles := ledgerRoles(u)
	if len(roles) == 0 {
		return postgres.LedgerFilter{}, nil, forbidden("error.forbidden", fmt.Errorf("%s has no ledger", u.Login))
	}
	f := postgres.LedgerFilter{Role: roles[0], UnitID: u.UnitID, Kind: secondment.Kind(q.Kind),
		Purpose: secondment.Purpose(q.Purpose), LenderLevel: secondment.Level(q.Level), System: secondment.System(q.System),
		BorrowerID: q.BorrowerID, LenderID: q.LenderID, Irregular: q.Irregular, Renewals: q.Renewals,
		Registered: q.Registered, ImportID: q.Import, Unrenewed: q.Unrenewed, Query: strings.TrimSpace(q.Q), Sort: postgres.LedgerSort(q.Sort)}
	var fe []secondment.FieldError
	bad := func(field, id string, kv ...any) {
		fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg(id, kv...)})
	}
	if q.As != "" {
		if r := secondment.Role(q.As); slices.Contains(roles, r) {
			f.Role = r
		} else {
			bad("as", "ledger.error.as")
		}
	}
	for _, st := range q.States {
		if s := secondment.State(st); slices.Contains(postgres.LedgerStates, s) {
			f.States = append(f.States, s)
		} else {
			bad("state", "ledger.error.state")
		}
	}
	f.Overdue = q.Overdue
	if f.Kind != "" && !f.Kind.Valid() {
		bad("kind", "secondment.error.kind")
	}
	switch a := secondment.Alias(q.Alias); {
	case q.Alias == "":
	case q.Alias == "none":
		none := secondment.AliasNone
		f.Alias = &none
	case a.Valid():
		f.Alias = &a
	default:
		bad("alias", "secondment.error.alias")
	}
	if f.Purpose != "" && !f.Purpose.Valid() {
		bad("purpose", "secondment.error.purpose")
	}
	if f.LenderLevel != "" && !f.LenderLevel.Valid() {
		bad("level", "ledger.error.level")
	}
	if f.System != "" && !f.System.Valid() {
		bad("system", "ledger.error.system")
	}
	for _, d := range []struct {
		field, v string
		dst      *secondment.Date
	}{{"from", q.From, &f.From}, {"to", q.To, &f.To}, {"end_from", q.EndFrom, &f.EndFrom}, {"end_to", q.EndTo, &f.EndTo}} {
		if v := strings.TrimSpace(d.v); v != "" {
			day, err := secondment.ParseDate(v)
			if err != nil {
				bad(d.field, "error.date")
				continue
			}
			*d.dst = day
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		bad("to", "ledger.error.range")
	}
	if !f.EndFrom.IsZero() && !f.EndTo.IsZero() && f.EndTo.Before(f.EndFrom) {
		bad("end_to", "ledger.error.range")
	}
	if f.Sort != "" && f.Sort != postgres.LedgerByStart && f.Sort != postgres.LedgerByEnd {
		bad("sort", "ledger.error.sort")
	}
	if q.After != "" {
		if day, n, ok := parseDateCursor(q.After); ok {
			f.AfterDate, f.AfterID = day, n
		} else {
			bad("after", "error.cursor")
		}
	}
	if len(fe) > 0 {
		return f, roles, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	return f, roles, nil
}

// Ledger is one page of u's ledger: the secondments of the unit u works
// for in the role chosen (the org dept: those it approves; a borrowing or
// lending unit: its own), current and past, filtered and counted.
func (s *Service) Ledger(ctx context.Context, u auth.User, q LedgerQuery) (Ledger, error) {
	f, roles, err := ledgerFilter(u, q)
	out := Ledger{As: f.Role, Roles: roles, CanRegister: registering(u) == nil,
		CanCampaign: f.Role == secondment.RoleOrgDept && holds(u, secondment.RoleOrgDept)}
	if err != nil {
		return out, err
	}
	f.Limit = LedgerPageSize + 1
	if out.Rows, out.Total, err = s.store.LedgerWithCount(ctx, f, LedgerCountMax+1); err != nil {
		return out, err
	}
	if len(out.Rows) > LedgerPageSize {
		out.Rows = out.Rows[:LedgerPageSize]
		last := out.Rows[LedgerPageSize-1]
		key := last.Start
		if f.Sort == postgres.LedgerByEnd {
			key = last.End
		}
		out.Next = key.String() + "_" + strconv.FormatInt(last.ID, 10)
	}
	if out.Total > LedgerCountMax {
		out.Total, out.More = LedgerCountMax, true
	}
	return out, nil
}

// ExportMax bounds an export; a larger one is refused before it starts
// rather than cut off silently.
const ExportMax = 200000

// LedgerEach calls fn for every row of u's filtered ledger, page by page,
// so that an export streams whatever its size. It fails before the first
// row when the filter is invalid or matches more than ExportMax rows.
func (s *Service) LedgerEach(ctx context.Context, u auth.User, q LedgerQuery, fn func(secondment.LedgerLine) error) error {
	q.After = ""
	f, _, err := ledgerFilter(u, q)
	if err != nil {
		return err
	}
	n, err := s.store.LedgerCount(ctx, f, ExportMax+1)
	if err != nil {
		return err
	}
	if n > ExportMax {
		return fieldError("export", "ledger.error.export_max", "Max", ExportMax)
	}
	f.Limit = 1000
	for {
		rows, err := s.store.Ledger(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) < f.Limit {
			return nil
		}
		last := rows[len(rows)-1]
		f.AfterDate, f.AfterID = last.Start, last.ID
		if f.Sort == postgres.LedgerByEnd {
			f.AfterDate = last.End
		}
	}
}

// LedgerCounts counts u's ledger under each query (up to LedgerCountMax),
// in one round trip: figures that link to the rows behind them.
func (s *Service) LedgerCounts(ctx context.Context, u auth.User, qs []LedgerQuery) ([]int, error) {
	fs := make([]postgres.LedgerFilter, len(qs))
	for i, q := range qs {
		f, _, err := ledgerFilter(u, q)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return s.store.LedgerCounts(ctx, fs, LedgerCountMax)
}

// parseDateCursor reads a keyset cursor "date_id" (the sort date and the id of
// the last row shown), as the ledgers' pages give it.
func parseDateCursor(after string) (secondment.Date, int64, bool) {
	d, id, ok := strings.Cut(after, "_")
	day, err := secondment.ParseDate(d)
	n, nerr := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || nerr != nil || n <= 0 {
		return secondment.Date{}, 0, false
	}
	return day, n, true
}
