package approval

import (
	"context"
	"fmt"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// PeoplePageSize is the people of a page.
const PeoplePageSize = 50

// PeopleQuery narrows the people list: a home unit by code, text in the
// name or code, and the page after a person's code.
type PeopleQuery struct {
	UnitCode, Q, After string
}

// People is one page of the people u may see.
type People struct {
	Rows    []secondment.PersonView
	Next    string // the next page's cursor; "" on the last
	CanEdit bool   // u keeps the register of people (org dept, registrar)
	Total   int    // people of the filter, up to PeopleCountMax
}

// PeopleCountMax bounds a count of people.
const PeopleCountMax = 100000

// keepsPeople reports whether u adds and edits people: the org dept and
// its registrar, who keep the register of their jurisdiction.
func keepsPeople(u auth.User) bool { return registering(u) == nil }

// People lists a page of the people whose home unit u may see (a clerk:
// their unit; the org dept: its region; the system administrator: all).
// A unit outside that scope is not found.
func (s *Service) People(ctx context.Context, u auth.User, q PeopleQuery) (People, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return People{}, err
	}
	scope := auth.ScopeOf(u, cat.h)
	f := postgres.PersonPage{Units: scope.Units(), Query: q.Q, AfterCode: q.After, Limit: PeoplePageSize + 1}
	if !scope.All() && len(f.Units) == 0 {
		return People{}, nil // no unit data for this role
	}
	if code := strings.TrimSpace(q.UnitCode); code != "" {
		unit, ok := cat.byCode(code)
		if !ok || !scope.Contains(unit.ID) {
			return People{}, secondment.NotFound("unit")
		}
		f.Units = []int64{unit.ID}
	}
	rows, err := s.store.PersonList(ctx, f)
	if err != nil {
		return People{}, err
	}
	out := People{Rows: rows, CanEdit: keepsPeople(u)}
	if len(rows) > PeoplePageSize {
		out.Rows = rows[:PeoplePageSize]
		out.Next = out.Rows[PeoplePageSize-1].Code
	}
	out.Total, err = s.store.PersonCount(ctx, f, PeopleCountMax)
	return out, err
}

// PersonInput is the person form as a page or an API call brings it.
type PersonInput struct {
	Code, Name, UnitCode, Post, Rank, Note string
	Leader                                 bool
	// The particulars (issue #12): gender, 出生年月 as 1990-05, 政治面貌,
	// 人员类别 and 学历; "" clears one, nil keeps what is on record (an
	// API client that does not send them changes none).
	Gender, Born, Political, Category, Education *string
}

// particulars sets p's particulars from in, each kept from old when in
// does not give it.
func (in PersonInput) particulars(p *secondment.Person, old secondment.Person) error {
	pick := func(v *string, cur string) string {
		if v == nil {
			return cur
		}
		return strings.TrimSpace(*v)
	}
	p.Gender = secondment.Gender(pick(in.Gender, string(old.Gender)))
	p.Political = secondment.Political(pick(in.Political, string(old.Political)))
	p.Category = secondment.StaffCategory(pick(in.Category, string(old.Category)))
	p.Education = pick(in.Education, old.Education)
	p.Born = old.Born
	if in.Born != nil {
		p.Born = secondment.Date{}
		if v := strings.TrimSpace(*in.Born); v != "" {
			born, err := secondment.ParseMonth(v)
			if err != nil {
				return fieldError("born", "person.error.born")
			}
			p.Born = born
		}
	}
	return nil
}

// Person reads person id for u; anyone outside u's scope is not found.
func (s *Service) Person(ctx context.Context, u auth.User, id int64) (secondment.PersonView, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return secondment.PersonView{}, err
	}
	p, err := s.store.PersonGet(ctx, id)
	if err != nil {
		return p, err
	}
	if !auth.ScopeOf(u, cat.h).Contains(p.HomeUnitID) {
		return secondment.PersonView{}, secondment.NotFound("person")
	}
	return p, nil
}

// PersonSave adds a person (id 0) or edits person id, in one transaction
// with its audit event. Only the org dept and its registrar keep the
// register, of people in their region and at units in it; a person's code
// is fixed once given.
func (s *Service) PersonSave(ctx context.Context, u auth.User, id int64, in PersonInput) (secondment.PersonView, error) {
	if !keepsPeople(u) {
		return secondment.PersonView{}, forbidden("error.forbidden", fmt.Errorf("%s keeps no register of people", u.Login))
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return secondment.PersonView{}, err
	}
	scope := auth.ScopeOf(u, cat.h)
	p := secondment.Person{ID: id, Code: strings.ToUpper(strings.TrimSpace(in.Code)), Name: strings.TrimSpace(in.Name),
		Post: strings.TrimSpace(in.Post), Rank: strings.TrimSpace(in.Rank), Note: strings.TrimSpace(in.Note), Leader: in.Leader}
	if err := in.particulars(&p, secondment.Person{}); err != nil {
		return secondment.PersonView{}, err
	}
	if unit, ok := cat.byCode(strings.TrimSpace(in.UnitCode)); ok && scope.Contains(unit.ID) {
		p.HomeUnitID = unit.ID
	}
	now := s.clock.Now()
	var out secondment.PersonView
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		e := postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, UnitID: u.UnitID, Detail: map[string]any{}}
		if id != 0 {
			old, err := tx.PersonLock(ctx, id)
			if err != nil {
				return err
			}
			if !scope.Contains(old.HomeUnitID) {
				return secondment.NotFound("person")
			}
			p.Code = old.Code
			e.Detail["from"] = old.Person
			if err := in.particulars(&p, old.Person); err != nil {
				return err
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		e.Detail["to"] = p
		var err error
		if id == 0 {
			e.Action = "person.create"
			if id, err = tx.PersonAdd(ctx, p, e); secondment.ErrorCodeOf(err) == secondment.EConflict {
				return fieldError("code", "person.error.code_taken")
			}
		} else {
			e.Action, e.ObjectType, e.ObjectID = "person.update", "person", id
			err = tx.PersonUpdate(ctx, p, e)
		}
		if err != nil {
			return err
		}
		out, err = tx.PersonGet(ctx, id)
		return err
	})
	return out, err
}

// orgDeptsIn are the org depts among units: their leaders are no clerk's
// candidates.
func orgDeptsIn(cat *snapshot, units []int64) []int64 {
	var out []int64
	for _, id := range units {
		u := cat.unit(id)
		if od, ok := cat.h.OrgDeptOf(u.ParentID); ok && od.ID == id {
			out = append(out, id)
		}
	}
	return out
}

// PeopleCount counts the people u may see.
func (s *Service) PeopleCount(ctx context.Context, u auth.User) (int, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return 0, err
	}
	scope := auth.ScopeOf(u, cat.h)
	if !scope.All() && len(scope.Units()) == 0 {
		return 0, nil
	}
	return s.store.PersonCount(ctx, postgres.PersonPage{Units: scope.Units()}, PeopleCountMax)
}
