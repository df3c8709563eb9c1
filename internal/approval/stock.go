package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// RegisterInput is an existing secondment as a form, an API call or an
// imported row brings it. Dates are "2006-01-02"; LenderID 0 is the
// person's home unit.
type RegisterInput struct {
	PersonID, BorrowerID, LenderID int64
	Kind, Alias, Purpose, Task     string
	Start, End                     string
	Status                         string // secondment.StockStatus
	ReturnedOn                     string
	ApprovalRef, ApprovedOn        string
	TransferMethod                 string
	// Invalid is a problem the caller found decoding the input.
	Invalid error
	// person is the person PersonID names when the caller has read them
	// already (an import reads a whole file's people at once).
	person *secondment.PersonView
	// preview: the write is to be rolled back (an import's preview), so
	// only what later rows read from the store is written
	// (postgres.Registration.Preview): later says which.
	preview bool
	later   laterRows
	// importID is the import file the row comes from (0: by hand).
	importID int64
}

// laterRows says what the rows after one of an import read of it from the
// store: the people away from its lending unit, when a later row has that
// unit and it is away; everything, when it adds a person (the rows naming
// that person read them from the store). A later row of the same person
// gets the row from the import itself (readAhead).
type laterRows struct{ lender, always bool }

// reads reports whether a later row reads what a row in state st writes.
func (l laterRows) reads(st secondment.State) bool { return l.always || (l.lender && st.Away()) }

// Registration is the outcome of registering one existing secondment, or
// of judging it without writing (a preview).
type Registration struct {
	ID        int64 // 0 in a preview
	Number    string
	State     secondment.State
	Already   bool // registered before: nothing was written
	Findings  secondment.Violations
	Irregular []secondment.RuleID
	// record is the secondment as judged (numbered when written), and
	// written says it was queued for writing: an import gives it to its
	// later rows of the same person until they can read it.
	record  secondment.Secondment
	written bool
}

// registering refuses anyone but the org dept and its registrar: they keep
// the ledger, so they enter what happened before the service.
func registering(u auth.User) error {
	if !holds(u, secondment.RoleOrgDept) && !holds(u, secondment.RoleRegistrar) {
		return forbidden("error.forbidden", fmt.Errorf("%s keeps no ledger", u.Login))
	}
	return nil
}

// Register records an existing secondment of u's jurisdiction as it
// stands, judged by the policy in force today, with a ledger entry for
// each rule it breaks, in one transaction with its audit event. The same
// person, borrowing unit and start registered again writes nothing and
// says so (Already).
func (s *Service) Register(ctx context.Context, u auth.User, in RegisterInput) (Registration, error) {
	if err := registering(u); err != nil {
		return Registration{}, err
	}
	if in.Invalid != nil {
		return Registration{}, in.Invalid
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Registration{}, err
	}
	var out Registration
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		var err error
		if out, err = s.register(ctx, tx, u, cat, in, func(r Registration, err error) error { out = r; return err }); err != nil {
			return err
		}
		return tx.Flush(ctx)
	})
	return out, err
}

// register judges in for u on its facts and queues its write on tx
// (RegisterLater). What it returns is the judgement, whole when the
// secondment was registered before (Already: nothing is written);
// otherwise written is called once the write has gone (with tx's next
// batch) with the registration's ID and number, or the write's error, and
// what it returns stops the transaction.
func (s *Service) register(ctx context.Context, tx *postgres.Tx, u auth.User, cat *snapshot, in RegisterInput,
	written func(Registration, error) error) (Registration, error) {
	prep, err := s.prepare(ctx, tx, u, cat, in)
	if err != nil {
		return Registration{}, err
	}
	facts, err := tx.RegisterFactsOf(ctx, []postgres.RegisterKey{prep.key()})
	if err != nil {
		return Registration{}, err
	}
	return s.judge(ctx, tx, u, cat, prep, facts[0], written)
}

// prepared is a registration whose input is checked and whose units,
// person and policy are resolved: what is left is to judge it on its
// facts.
type prepared struct {
	r        secondment.Registration
	j        secondment.Jurisdiction
	policy   secondment.Policy
	person   secondment.PersonView
	today    secondment.Date
	now      time.Time
	preview  bool
	later    laterRows
	importID int64
}

// key is what prep's facts are read for.
func (prep *prepared) key() postgres.RegisterKey {
	return postgres.RegisterKey{PersonID: prep.r.PersonID, LenderID: prep.r.LenderID, BorrowerID: prep.r.BorrowerID, Start: prep.r.Start}
}

// prepare checks in for u and resolves its units, person and policy; a
// bad field is an EInvalid error naming it. It reads nothing but the
// person, and that only when the caller has not (in.person).
func (s *Service) prepare(ctx context.Context, tx *postgres.Tx, u auth.User, cat *snapshot, in RegisterInput) (*prepared, error) {
	now := s.clock.Now()
	today := secondment.DateOf(now)
	r := secondment.Registration{Secondment: secondment.Secondment{Kind: secondment.Kind(in.Kind),
		Alias: secondment.Alias(in.Alias), Purpose: secondment.Purpose(in.Purpose), Task: strings.TrimSpace(in.Task),
		PersonID: in.PersonID, BorrowerID: in.BorrowerID, LenderID: in.LenderID,
		TransferMethod: secondment.TransferMethod(in.TransferMethod)},
		Status: secondment.StockStatus(in.Status), ApprovalRef: strings.TrimSpace(in.ApprovalRef)}
	var fe []secondment.FieldError
	bad := func(field, id string, kv ...any) {
		fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg(id, kv...)})
	}
	for _, f := range []struct {
		field, v string
		dst      *secondment.Date
		required bool
	}{{"start", in.Start, &r.Start, true}, {"end", in.End, &r.End, true},
		{"returned_on", in.ReturnedOn, &r.ReturnedOn, false}, {"approved_on", in.ApprovedOn, &r.ApprovedOn, false}} {
		v := strings.TrimSpace(f.v)
		if v == "" {
			if f.required {
				bad(f.field, "error.required")
			}
			continue
		}
		d, err := secondment.ParseDate(v)
		if err != nil {
			bad(f.field, "error.date")
			continue
		}
		*f.dst = d
	}

	// The borrowing unit must be one whose requests u's org dept approves:
	// the same scope in which u sees requests. Any other is "unknown", so
	// nothing is told about units elsewhere.
	var j secondment.Jurisdiction
	if bu, ok := cat.h.Unit(r.BorrowerID); !ok || r.BorrowerID <= 0 {
		bad("borrower", "stock.error.borrower")
	} else if jj, err := cat.h.Jurisdiction(bu.ID, cat.policies); err != nil || jj.OrgDept.ID != u.UnitID {
		bad("borrower", "stock.error.borrower")
	} else {
		j = jj
	}
	var person secondment.PersonView
	if in.person != nil && in.person.ID == r.PersonID {
		if j.Root.ID != 0 && cat.h.Contains(j.Root.ID, in.person.HomeUnitID) {
			person = *in.person
		}
	} else if r.PersonID > 0 {
		p, err := tx.PersonGet(ctx, r.PersonID)
		switch {
		case secondment.ErrorCodeOf(err) == secondment.ENotFound:
		case err != nil:
			return nil, err
		case j.Root.ID != 0 && cat.h.Contains(j.Root.ID, p.HomeUnitID):
			person = p
		}
	}
	if person.ID == 0 {
		bad("person", "secondment.error.person")
	} else {
		r.PersonName = person.Name
		if r.LenderID == 0 {
			r.LenderID = person.HomeUnitID
		}
		// The person belongs to the lending unit, or already to the
		// borrowing unit when the record says they were transferred in.
		home := person.HomeUnitID
		if home != r.LenderID && !(r.Status == secondment.StockTransferred && home == r.BorrowerID) {
			bad("lender", "stock.error.lender")
		} else if _, ok := cat.h.Unit(r.LenderID); !ok || !cat.h.Contains(j.Root.ID, r.LenderID) {
			bad("lender", "stock.error.lender")
		}
	}
	var ve *secondment.Error
	if err := r.Validate(today); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if !hasField(fe, f.Field) {
				fe = append(fe, f)
			}
		}
	}
	if len(fe) > 0 {
		return nil, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}

	r.BorrowerName, r.LenderName = cat.unit(r.BorrowerID).Name, cat.unit(r.LenderID).Name
	p, err := j.PolicyOn(today)
	if err != nil {
		return nil, err
	}
	return &prepared{r: r, j: j, policy: p, person: person, today: today, now: now, preview: in.preview, later: in.later,
		importID: in.importID}, nil
}

// judge judges prep on facts (read for prep.key()) and queues its write,
// as register says.
func (s *Service) judge(ctx context.Context, tx *postgres.Tx, u auth.User, cat *snapshot, prep *prepared,
	facts postgres.RegisterFacts, written func(Registration, error) error) (Registration, error) {
	r, j, p, person, today, now := prep.r, prep.j, prep.policy, prep.person, prep.today, prep.now
	f := factsOf(cat, r.Secondment, j.Root.Name, facts.History, facts.Away, 0)
	judged, err := secondment.Register(p, r, f, today)
	if err != nil {
		return Registration{}, err
	}
	out := Registration{State: judged.Secondment.State, Findings: judged.Findings, Irregular: judged.Irregular}
	if e := facts.Existing; e != nil {
		out.ID, out.Number, out.Already = e.ID, e.Number, true
		return out, nil
	}
	rec := judged.Secondment
	// One person, one place: a term that still holds the person cannot
	// overlap another on record (secondment_one_place refuses it too).
	// Asked after the registration itself was found: that is no overlap.
	if o, ok := secondment.Overlapping(rec, f.History); ok && rec.State.Held() {
		return Registration{}, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "start", Message: secondment.OverlapMessage(rec, o)}}}
	}
	rec.ApprovalRef = r.ApprovalRef
	out.record = rec
	if prep.preview && !prep.later.reads(out.State) {
		// Rolled back, and read from the store by no row after it (the
		// import gives its own rows to the rows of the same person): the
		// preview's writing was half its time.
		return out, nil
	}
	details := make([]string, len(judged.Irregular))
	for i, rule := range judged.Irregular {
		for _, v := range judged.Findings {
			if v.Rule == rule {
				details[i] = v.Message.ID
				break
			}
		}
	}
	out.record.Number, err = tx.RegisterLater(ctx, postgres.Registration{Secondment: rec, JurisdictionID: j.Root.ID, OrgDeptID: j.OrgDept.ID,
		PolicyVersion: p.Version, Irregular: judged.Irregular, Details: details, ActorID: u.ID, ActorName: u.Name,
		UnitID: u.UnitID, Today: today, Now: now, MoveHome: rec.State == secondment.StateTransferred && person.HomeUnitID == r.LenderID,
		Preview: prep.preview, ImportID: prep.importID},
		func(w postgres.Registered, err error) error {
			done := out
			done.ID, done.Number = w.ID, w.Number
			return written(done, err)
		})
	out.written = err == nil
	return out, err
}

func hasField(fe []secondment.FieldError, field string) bool {
	for _, f := range fe {
		if f.Field == field {
			return true
		}
	}
	return false
}

// RegisterChoices are what the registration form offers u: the people of
// the jurisdiction whose name or unit contains q (up to a limit), and the
// borrowing units whose secondments u's org dept approves.
type RegisterChoices struct {
	People    []Nominee
	Borrowers []secondment.Unit
}

// Choices lists the registration form's people and borrowing units.
func (s *Service) Choices(ctx context.Context, u auth.User, q string) (RegisterChoices, error) {
	if err := registering(u); err != nil {
		return RegisterChoices{}, err
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return RegisterChoices{}, err
	}
	var out RegisterChoices
	root := cat.root(u)
	for _, id := range cat.h.Subtree(root) {
		if j, err := cat.h.Jurisdiction(id, cat.policies); err == nil && j.OrgDept.ID == u.UnitID {
			out.Borrowers = append(out.Borrowers, cat.unit(id))
		}
	}
	people, err := s.store.PersonSearch(ctx, cat.h.Subtree(root), 0, nil, q, nomineeLimit)
	if err != nil {
		return RegisterChoices{}, err
	}
	for _, p := range people {
		out.People = append(out.People, Nominee{ID: p.ID, Name: p.Name, UnitName: p.HomeUnitName, Post: p.Post})
	}
	return out, nil
}
