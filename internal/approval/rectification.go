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

// The irregular ledger (违规台账, issue 11, S4): entries the sweep (R10),
// a registration or the org dept by hand opens, each with its
// rectification. Who sees an entry:
//   - the org dept whose jurisdiction it is in, and its registrar (keepers);
//   - the org dept it was escalated to when its deadline passed;
//   - the unit responsible for the rectification.
// Anyone else is told it does not exist.

// RectScope is whose entries a list of the irregular ledger holds.
type RectScope string

// The lists of the irregular ledger.
const (
	RectOwn         RectScope = "own"         // a keeper's: its jurisdiction's
	RectEscalated   RectScope = "escalated"   // an org dept's: escalated to it
	RectResponsible RectScope = "responsible" // a unit's: its to rectify
)

// RectQuery is the irregular ledger's filter as a page or an API call
// brings it.
type RectQuery struct {
	Scope        string // own, escalated or responsible; default: the first u has
	Status       string
	Rule         string
	Open         bool
	PastDeadline bool
	After        string // the cursor of the page before
}

// Rects is one page of the irregular ledger.
type Rects struct {
	Scope  RectScope
	Scopes []RectScope // the lists u has
	Rows   []secondment.RectLine
	Total  int
	More   bool // more than LedgerCountMax
	Next   string
	Today  secondment.Date
	// CanOpen: u keeps the ledger and may put a secondment on it by hand.
	CanOpen bool
}

// rectScopes are the irregular ledgers u has.
func rectScopes(u auth.User) []RectScope {
	var out []RectScope
	if registering(u) == nil {
		out = append(out, RectOwn)
	}
	if holds(u, secondment.RoleOrgDept) {
		out = append(out, RectEscalated)
	}
	if holds(u, secondment.RoleBorrower) || holds(u, secondment.RoleLender) {
		out = append(out, RectResponsible)
	}
	return out
}

// rectFilter reads q for u as of today, every problem at once as field
// errors; it also returns the lists u has.
func rectFilter(u auth.User, q RectQuery, today secondment.Date) (postgres.RectFilter, []RectScope, error) {
	scopes := rectScopes(u)
	if len(scopes) == 0 {
		return postgres.RectFilter{}, nil, forbidden("error.forbidden", fmt.Errorf("%s has no irregular ledger", u.Login))
	}
	f := postgres.RectFilter{Scope: postgres.RectScope(scopes[0]), UnitID: u.UnitID, Status: secondment.RectStatus(q.Status),
		Rule: secondment.RuleID(q.Rule), Open: q.Open, PastDeadline: q.PastDeadline, Today: today, Limit: LedgerPageSize + 1}
	var fe []secondment.FieldError
	bad := func(field, id string) {
		fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg(id)})
	}
	if q.Scope != "" {
		if sc := RectScope(q.Scope); slices.Contains(scopes, sc) {
			f.Scope = postgres.RectScope(sc)
		} else {
			bad("scope", "rect.error.scope")
		}
	}
	if f.Status != "" && !f.Status.Valid() {
		bad("status", "rect.error.status")
	}
	if f.Rule != "" && !f.Rule.Valid() {
		bad("rule", "rect.error.rule")
	}
	if q.After != "" {
		if day, n, ok := parseDateCursor(q.After); ok {
			f.AfterDate, f.AfterID = day, n
		} else {
			bad("after", "error.cursor")
		}
	}
	if len(fe) > 0 {
		return f, scopes, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	return f, scopes, nil
}

// Rects lists a page of u's irregular ledger.
func (s *Service) Rects(ctx context.Context, u auth.User, q RectQuery) (Rects, error) {
	today := secondment.DateOf(s.clock.Now())
	f, scopes, err := rectFilter(u, q, today)
	if err != nil {
		return Rects{Scopes: scopes, Scope: RectScope(f.Scope)}, err
	}
	rows, total, more, err := s.store.RectList(ctx, f, LedgerCountMax)
	if err != nil {
		return Rects{}, err
	}
	out := Rects{Scope: RectScope(f.Scope), Scopes: scopes, Total: total, More: more, Today: today,
		CanOpen: registering(u) == nil}
	if len(rows) > LedgerPageSize {
		rows = rows[:LedgerPageSize]
		last := rows[len(rows)-1]
		key := last.OpenedOn
		if f.PastDeadline {
			key = last.Deadline
		}
		out.Next = key.String() + "_" + strconv.FormatInt(last.ID, 10)
	}
	out.Rows = rows
	return out, nil
}

// RectCounts counts the entries of each filter of u, each up to
// LedgerCountMax: a dashboard's figures, each counted from the filter its
// link opens.
func (s *Service) RectCounts(ctx context.Context, u auth.User, qs []RectQuery) ([]int, error) {
	today := secondment.DateOf(s.clock.Now())
	fs := make([]postgres.RectFilter, len(qs))
	for i, q := range qs {
		f, _, err := rectFilter(u, q, today)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return s.store.RectCounts(ctx, fs, LedgerCountMax)
}

// RectScopesOf are the irregular ledgers u has, the first the default.
func RectScopesOf(u auth.User) []RectScope { return rectScopes(u) }

// RectPage is an irregular ledger entry as u sees it, with what u may do.
type RectPage struct {
	secondment.RectView
	Today        secondment.Date
	PastDeadline bool
	Keeper       bool // u keeps the entry's ledger: sets deadline and responsible unit
	Party        bool // u may open the secondment's page (a keeper or the responsible unit)
	CanEdit      bool // plan, report and attach evidence (keeper or responsible unit)
	CanClose     bool // the org dept of the entry's jurisdiction (销号)
	// Parties are the units a keeper may make responsible: the
	// secondment's borrowing and lending units.
	Parties []UnitChoice
}

// UnitChoice is a unit offered in a form.
type UnitChoice struct {
	ID   int64
	Name string
}

// rectAccess tells how u stands to entry v: a keeper of its ledger, the
// org dept it was escalated to, the responsible unit. None: u may not see
// it.
func rectAccess(u auth.User, v secondment.RectView) (keeper, supervisor, responsible bool) {
	keeper = registering(u) == nil && u.UnitID == v.OrgDeptID
	supervisor = holds(u, secondment.RoleOrgDept) && v.EscalatedTo != 0 && u.UnitID == v.EscalatedTo
	responsible = (holds(u, secondment.RoleBorrower) || holds(u, secondment.RoleLender)) &&
		v.ResponsibleUnitID != 0 && u.UnitID == v.ResponsibleUnitID
	return
}

// Rect is entry id as u sees it; one u may not see is not found.
func (s *Service) Rect(ctx context.Context, u auth.User, id int64) (RectPage, error) {
	v, err := s.store.RectGet(ctx, id)
	if err != nil {
		return RectPage{}, err
	}
	return s.rectPage(u, v)
}

func (s *Service) rectPage(u auth.User, v secondment.RectView) (RectPage, error) {
	keeper, supervisor, responsible := rectAccess(u, v)
	if !keeper && !supervisor && !responsible {
		return RectPage{}, secondment.NotFound("ledger_entry")
	}
	today := secondment.DateOf(s.clock.Now())
	open := v.Status != secondment.RectClosed
	return RectPage{RectView: v, Today: today, PastDeadline: v.PastDeadline(today), Keeper: keeper, Party: keeper || responsible,
		CanEdit:  open && (keeper || responsible),
		CanClose: open && holds(u, secondment.RoleOrgDept) && u.UnitID == v.OrgDeptID,
		Parties:  []UnitChoice{{v.BorrowerID, v.BorrowerName}, {v.LenderID, v.LenderName}}}, nil
}

// RectPlanInput is a change to an entry's plan: the version it was read
// at, and the fields to change; a nil field keeps what is on record (an
// API call may send one field). Deadline and ResponsibleUnitID count for a
// keeper only; an empty deadline removes it.
type RectPlanInput struct {
	Version                                 int
	TargetTask, Measures, ResponsiblePerson *string
	ResponsibleUnitID                       *int64
	Deadline                                *string
}

// RectPlan writes u's plan for entry id.
func (s *Service) RectPlan(ctx context.Context, u auth.User, id int64, in RectPlanInput) (RectPage, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return RectPage{}, err
	}
	return s.rectChange(ctx, u, id, in.Version, "ledger.plan", false, func(p RectPage, today secondment.Date) (secondment.Rectification, error) {
		or := func(v *string, cur string) string {
			if v == nil {
				return cur
			}
			return *v
		}
		deadline := p.Deadline
		if p.Keeper && in.Deadline != nil {
			deadline = secondment.Date{}
			if v := strings.TrimSpace(*in.Deadline); v != "" {
				d, err := secondment.ParseDate(v)
				if err != nil {
					return p.Rectification, fieldError("deadline", "error.date")
				}
				deadline = d
			}
		}
		unit := p.ResponsibleUnitID
		if in.ResponsibleUnitID != nil && *in.ResponsibleUnitID != 0 {
			unit = *in.ResponsibleUnitID
		}
		return p.Rectification.Plan(secondment.RectPlan{TargetTask: or(in.TargetTask, p.TargetTask),
			Measures: or(in.Measures, p.Measures), ResponsiblePerson: or(in.ResponsiblePerson, p.ResponsiblePerson),
			ResponsibleUnitID: unit, Deadline: deadline, Keeper: p.Keeper, Calendar: cat.cal}, []int64{p.BorrowerID, p.LenderID}, today)
	})
}

// RectReport sets the status u reports for entry id.
func (s *Service) RectReport(ctx context.Context, u auth.User, id int64, version int, status string) (RectPage, error) {
	return s.rectChange(ctx, u, id, version, "ledger.report", false, func(p RectPage, _ secondment.Date) (secondment.Rectification, error) {
		return p.Rectification.Report(secondment.RectStatus(status))
	})
}

// RectClose closes (销号) entry id on the org dept's opinion.
func (s *Service) RectClose(ctx context.Context, u auth.User, id int64, version int, opinion string) (RectPage, error) {
	return s.rectChange(ctx, u, id, version, "ledger.close", true, func(p RectPage, today secondment.Date) (secondment.Rectification, error) {
		if p.Status == secondment.RectClosed {
			return p.Rectification, secondment.Errorf(secondment.EConflict, secondment.Msg("rect.error.closed"), nil)
		}
		if !p.CanClose {
			return p.Rectification, forbidden("rect.error.close", fmt.Errorf("%s may not close ledger entry %d", u.Login, id))
		}
		return p.Rectification.Close(opinion, today)
	})
}

// rectEdit runs do on entry id in one transaction: the entry locked and
// u's standing checked (a closed entry is a conflict; one u may only read
// is forbidden, unless closing, which checks its own), then the entry as
// it stands after do, for the caller to show.
func (s *Service) rectEdit(ctx context.Context, u auth.User, id int64, closing bool,
	do func(tx *postgres.Tx, p RectPage) error) (RectPage, error) {
	var out RectPage
	err := s.store.InTx(ctx, func(tx *postgres.Tx) error {
		v, err := tx.RectLock(ctx, id)
		if err != nil {
			return err
		}
		p, err := s.rectPage(u, v)
		if err != nil {
			return err
		}
		if !closing && !p.CanEdit {
			if v.Status == secondment.RectClosed {
				return secondment.Errorf(secondment.EConflict, secondment.Msg("rect.error.closed"), nil)
			}
			return forbidden("error.forbidden", fmt.Errorf("%s may not change ledger entry %d", u.Login, id))
		}
		if err := do(tx, p); err != nil {
			return err
		}
		if v, err = tx.RectLock(ctx, id); err != nil {
			return err
		}
		out, err = s.rectPage(u, v)
		return err
	})
	return out, err
}

// rectChange runs one change of entry id (rectEdit): the version compared,
// the change made by change and written with its audit event (the fields
// before and after).
func (s *Service) rectChange(ctx context.Context, u auth.User, id int64, version int, action string, closing bool,
	change func(RectPage, secondment.Date) (secondment.Rectification, error)) (RectPage, error) {
	return s.rectEdit(ctx, u, id, closing, func(tx *postgres.Tx, p RectPage) error {
		if version != p.Version {
			return secondment.Errorf(secondment.EConflict, secondment.Msg("error.conflict"),
				fmt.Errorf("ledger entry %d is at version %d, not %d", id, p.Version, version))
		}
		now := s.clock.Now()
		next, err := change(p, secondment.DateOf(now))
		if err != nil {
			return err
		}
		return tx.RectSave(ctx, next, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: action,
			ObjectType: "ledger_entry", ObjectID: id, UnitID: u.UnitID, Detail: rectChanges(p.Rectification, next)})
	})
}

// rectChanges are the fields a change moved, before and after, for the
// audit.
func rectChanges(a, b secondment.Rectification) map[string]any {
	out := map[string]any{"secondment": a.SecondmentID, "rule": a.Rule}
	diff := func(k string, x, y any) {
		if x != y {
			out[k] = map[string]any{"from": x, "to": y}
		}
	}
	diff("target_task", a.TargetTask, b.TargetTask)
	diff("measures", a.Measures, b.Measures)
	diff("responsible_unit", a.ResponsibleUnitID, b.ResponsibleUnitID)
	diff("responsible_person", a.ResponsiblePerson, b.ResponsiblePerson)
	diff("deadline", a.Deadline.String(), b.Deadline.String())
	diff("escalated_on", a.EscalatedOn.String(), b.EscalatedOn.String())
	diff("escalated_to", a.EscalatedTo, b.EscalatedTo)
	diff("status", a.Status, b.Status)
	diff("opinion", a.CloseOpinion, b.CloseOpinion)
	return out
}

// RectOpenInput puts a secondment on the irregular ledger by hand.
type RectOpenInput struct {
	SecondmentID int64
	Rule         string
	Detail       string
	Deadline     string
}

// RectOpen opens an entry on a secondment of u's jurisdiction (a keeper's
// act); it returns the new entry's id. A secondment u does not keep is not
// found; one not yet approved, or already on the ledger under that rule,
// is refused.
func (s *Service) RectOpen(ctx context.Context, u auth.User, in RectOpenInput) (int64, error) {
	if err := registering(u); err != nil {
		return 0, err
	}
	l, err := s.store.SecondmentLoad(ctx, in.SecondmentID, u.ID)
	if err != nil {
		return 0, err
	}
	if l.OrgDeptID != u.UnitID {
		return 0, secondment.NotFound("secondment")
	}
	if !slices.Contains(LedgerStates, l.State) {
		return 0, fieldError("secondment", "rect.error.state")
	}
	now := s.clock.Now()
	today := secondment.DateOf(now)
	var deadline secondment.Date
	if v := strings.TrimSpace(in.Deadline); v != "" {
		if deadline, err = secondment.ParseDate(v); err != nil {
			return 0, fieldError("deadline", "error.date")
		}
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return 0, err
	}
	r, err := secondment.OpenRectification(secondment.RuleID(in.Rule), in.Detail, deadline, today, cat.cal)
	if err != nil {
		return 0, err
	}
	r.SecondmentID = in.SecondmentID
	var id int64
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		id, err = tx.RectOpen(ctx, r, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "ledger.open",
			ObjectType: "ledger_entry", UnitID: u.UnitID,
			Detail: map[string]any{"secondment": in.SecondmentID, "rule": r.Rule, "detail": r.Detail, "deadline": deadline.String()}})
		return err
	})
	return id, err
}

// RectAttach attaches evidence f to entry id.
func (s *Service) RectAttach(ctx context.Context, u auth.User, id int64, f File) (RectPage, error) {
	return s.rectEdit(ctx, u, id, false, func(tx *postgres.Tx, _ RectPage) error {
		_, err := tx.EvidenceAdd(ctx, id, f.Name, f.ContentType, f.Data, postgres.AuditEvent{At: s.clock.Now(), ActorID: u.ID,
			ActorName: u.Name, Action: "ledger.evidence", ObjectType: "ledger_entry", ObjectID: id, UnitID: u.UnitID,
			Detail: map[string]any{"name": f.Name, "size": len(f.Data)}})
		return err
	})
}

// RectEvidence is evidence file evID of entry id, for someone who may see
// the entry.
func (s *Service) RectEvidence(ctx context.Context, u auth.User, id, evID int64) (File, error) {
	if _, err := s.Rect(ctx, u, id); err != nil {
		return File{}, err
	}
	e, data, err := s.store.EvidenceGet(ctx, id, evID)
	if err != nil {
		return File{}, err
	}
	return File{Name: e.Name, ContentType: e.ContentType, Data: data}, nil
}
