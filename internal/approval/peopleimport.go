package approval

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/imports"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// PeopleImportRow is one row of an import of people and its outcome.
type PeopleImportRow struct {
	Line     int
	Person   string
	Code     string // the person's code: given, found, or derived from name and unit
	Unit     string // the home unit as the row names it
	Outcome  ImportOutcome
	Problems []imports.Problem // per column (field), when Invalid
	Changed  []string          // the fields an update changes
}

// PeopleImport is an uploaded file of people and what its rows come to.
type PeopleImport struct {
	ID        int64
	Name      string
	Committed bool
	Rows      []PeopleImportRow
	// Counts of the rows by outcome.
	New, Updated, Already, Invalid int
}

// ImportUpdated is a person on record whose post, rank, unit, leadership
// or note the row changes.
const ImportUpdated ImportOutcome = "updated"

// PeopleImportUpload keeps file name's content for u and previews it. A
// file that cannot be read at all is refused with the reason on the field
// "file", and nothing is kept.
func (s *Service) PeopleImportUpload(ctx context.Context, u auth.User, name string, content []byte) (PeopleImport, error) {
	if !keepsPeople(u) {
		return PeopleImport{}, forbidden("error.forbidden", errors.New(u.Login+" keeps no register of people"))
	}
	rows, err := imports.People.Read(name, bytes.NewReader(content))
	if err != nil {
		return PeopleImport{}, err
	}
	id, err := s.store.ImportSave(ctx, postgres.AuditEvent{At: s.clock.Now(), ActorID: u.ID, ActorName: u.Name, UnitID: u.UnitID},
		postgres.ImportPeople, name, content)
	if err != nil {
		return PeopleImport{}, err
	}
	return s.peopleImportRun(ctx, u, postgres.ImportFile{ID: id, Name: name}, rows, false)
}

// PeopleImportPreview shows what committing upload id would do, writing
// nothing.
func (s *Service) PeopleImportPreview(ctx context.Context, u auth.User, id int64) (PeopleImport, error) {
	return s.peopleImportStored(ctx, u, id, false)
}

// PeopleImportCommit adds and updates the people of every valid row of
// upload id in one transaction, each with its audit event, and skips the
// others; committing again changes nothing.
func (s *Service) PeopleImportCommit(ctx context.Context, u auth.User, id int64) (PeopleImport, error) {
	return s.peopleImportStored(ctx, u, id, true)
}

func (s *Service) peopleImportStored(ctx context.Context, u auth.User, id int64, commit bool) (PeopleImport, error) {
	if !keepsPeople(u) {
		return PeopleImport{}, forbidden("error.forbidden", errors.New(u.Login+" keeps no register of people"))
	}
	f, err := s.store.ImportGet(ctx, id, u.ID, postgres.ImportPeople)
	if err != nil {
		return PeopleImport{}, err
	}
	rows, err := imports.People.Read(f.Name, bytes.NewReader(f.Content))
	if err != nil {
		return PeopleImport{}, err
	}
	return s.peopleImportRun(ctx, u, f, rows, commit)
}

// peopleImportRun previews (all of it, rolled back: what a preview shows
// is what a commit writes) or commits the rows of file f.
func (s *Service) peopleImportRun(ctx context.Context, u auth.User, f postgres.ImportFile, rows []imports.Row, commit bool) (PeopleImport, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return PeopleImport{}, err
	}
	var out PeopleImport
	err = s.inImportTx(ctx, u, f, commit, postgres.ImportPeople, func(tx *postgres.Tx) (map[string]any, error) {
		out = PeopleImport{ID: f.ID, Name: f.Name, Committed: f.CommittedAt != nil || commit}
		err := s.peopleImportRows(ctx, tx, u, cat, rows, &out)
		return map[string]any{"new": out.New, "updated": out.Updated, "already": out.Already, "invalid": out.Invalid}, err
	})
	return out, err
}

// personFields maps the fields of secondment.Person.Validate to the
// template's columns.
var personFields = map[string]string{"code": "person_code", "name": "person", "home_unit": "home_unit"}

// peopleImportRows resolves each row to a person of u's jurisdiction (by
// code, or by name at the row's home unit) and adds or updates them
// through tx. An empty optional cell leaves what is on record; a row's
// code that belongs to someone outside the jurisdiction, or to someone of
// another name, is a problem on the row, told without saying whose.
func (s *Service) peopleImportRows(ctx context.Context, tx *postgres.Tx, u auth.User, cat *snapshot, rows []imports.Row, out *PeopleImport) error {
	scope := cat.h.Subtree(cat.root(u))
	units := unitNames(cat, scope)
	inScope := map[int64]bool{}
	for _, id := range scope {
		inScope[id] = true
	}
	// First the units and codes of every row, then everyone the file may
	// name in one query (locked: the import's edits are not lost to, nor
	// lose, a clerk's at the same time).
	out.Rows = make([]PeopleImportRow, len(rows))
	unitOf := make([]int64, len(rows))
	var codes, names []string
	for i, r := range rows {
		row := &out.Rows[i]
		*row = PeopleImportRow{Line: r.Line, Person: strings.TrimSpace(r.Fields["person"]),
			Code: strings.ToUpper(strings.TrimSpace(r.Fields["person_code"])), Unit: r.Fields["home_unit"], Problems: r.Problems}
		bad := func(field, id string, kv ...any) {
			row.Problems = append(row.Problems, imports.Problem{Field: field, Message: secondment.Msg(id, kv...)})
		}
		if row.Person == "" {
			bad("person", "error.required")
		}
		unitOf[i] = units.find(r.Fields["home_unit"], "home_unit", bad)
		codes = append(codes, row.Code, personCode("", row.Person, unitOf[i]))
		names = append(names, row.Person)
	}
	known, err := tx.PeopleNamedLocked(ctx, codes, names, scope)
	if err != nil {
		return err
	}
	byCode := map[string]secondment.Person{}
	byName := map[string][]secondment.Person{}
	for _, p := range known {
		byCode[p.Code] = p.Person
		if inScope[p.HomeUnitID] {
			byName[p.Name] = append(byName[p.Name], p.Person)
		}
	}
	now := s.clock.Now()
	for i, r := range rows {
		row := &out.Rows[i]
		bad := func(field, id string, kv ...any) {
			row.Problems = append(row.Problems, imports.Problem{Field: field, Message: secondment.Msg(id, kv...)})
		}
		var old *secondment.Person
		switch {
		case len(row.Problems) > 0:
		case row.Code != "":
			if p, ok := byCode[row.Code]; ok && !inScope[p.HomeUnitID] {
				bad("person_code", "import.error.person_code_taken")
			} else if ok && p.Name != row.Person {
				bad("person_code", "import.error.code_name", "Code", row.Code, "Name", p.Name)
			} else if ok {
				old = &p
			}
		default:
			var at []secondment.Person
			for _, p := range byName[row.Person] {
				if p.HomeUnitID == unitOf[i] {
					at = append(at, p)
				}
			}
			switch len(at) {
			case 0:
				// Not at the unit by name: new, with the code an import
				// derives (found by it, someone an earlier file named so
				// has since moved).
				row.Code = personCode("", row.Person, unitOf[i])
				if p, ok := byCode[row.Code]; ok && !inScope[p.HomeUnitID] {
					bad("person_code", "import.error.person_code_taken")
				} else if ok {
					old = &p
				}
			case 1:
				old, row.Code = &at[0], at[0].Code
			default:
				bad("person", "import.error.person_ambiguous", "Name", row.Person)
			}
		}
		if len(row.Problems) > 0 {
			row.Outcome = ImportInvalid
			out.Invalid++
			continue
		}
		p := secondment.Person{Code: row.Code, Name: row.Person}
		if old != nil {
			p = *old
		}
		p.HomeUnitID = unitOf[i]
		for _, f := range []struct {
			field string
			dst   *string
		}{{"post", &p.Post}, {"rank", &p.Rank}, {"note", &p.Note}} {
			if v := strings.TrimSpace(r.Fields[f.field]); v != "" {
				*f.dst = v
			}
		}
		if v := r.Fields["leader"]; v != "" {
			p.Leader = v == "yes"
		}
		if err := p.Validate(); err != nil {
			var ve *secondment.Error
			if !errors.As(err, &ve) {
				return err
			}
			for _, fe := range ve.Fields {
				field := fe.Field
				if f, ok := personFields[field]; ok {
					field = f
				}
				row.Problems = append(row.Problems, imports.Problem{Field: field, Message: fe.Message})
			}
			row.Outcome = ImportInvalid
			out.Invalid++
			continue
		}
		e := postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, UnitID: u.UnitID,
			Detail: map[string]any{"import": out.ID, "line": r.Line, "to": p}}
		switch {
		case old == nil:
			e.Action = "person.create"
			id, err := tx.PersonAdd(ctx, p, e)
			if err != nil {
				return err
			}
			p.ID = id
			row.Outcome = ImportNew
			out.New++
		case p == *old:
			row.Outcome = ImportAlready
			out.Already++
		default:
			row.Changed = personChanges(*old, p)
			e.Action, e.ObjectType, e.ObjectID = "person.update", "person", p.ID
			e.Detail["from"] = *old
			if err := tx.PersonUpdate(ctx, p, e); err != nil {
				return err
			}
			row.Outcome = ImportUpdated
			out.Updated++
		}
		// A later row of the same file sees this one as on record.
		byCode[p.Code] = p
		same := byName[p.Name]
		if k := slices.IndexFunc(same, func(q secondment.Person) bool { return q.ID == p.ID }); k >= 0 {
			same[k] = p
		} else {
			byName[p.Name] = append(same, p)
		}
	}
	return nil
}

// personChanges are the template's columns in which b differs from a.
func personChanges(a, b secondment.Person) []string {
	var out []string
	for _, f := range []struct {
		field string
		same  bool
	}{{"home_unit", a.HomeUnitID == b.HomeUnitID}, {"post", a.Post == b.Post}, {"rank", a.Rank == b.Rank},
		{"leader", a.Leader == b.Leader}, {"note", a.Note == b.Note}} {
		if !f.same {
			out = append(out, f.field)
		}
	}
	return out
}
