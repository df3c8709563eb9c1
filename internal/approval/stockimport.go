package approval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"secondment/internal/auth"
	"secondment/internal/imports"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// ImportOutcome is what an import does with one row.
type ImportOutcome string

const (
	ImportNew     ImportOutcome = "new"     // registered (or, in a preview, would be)
	ImportAlready ImportOutcome = "already" // registered before: nothing written
	ImportInvalid ImportOutcome = "invalid" // a problem in the row: skipped
)

// ImportRow is one row's outcome.
type ImportRow struct {
	Line      int
	Person    string
	Borrower  string
	Outcome   ImportOutcome
	Problems  []imports.Problem // per column (field), when Invalid
	NewPerson bool              // the person was not on record and is (would be) added
	Number    string
	State     secondment.State
	Irregular []secondment.RuleID
	Findings  secondment.Violations
}

// Import is an uploaded file's rows and what they come to.
type Import struct {
	ID        int64
	Name      string
	Committed bool
	Rows      []ImportRow
	// Counts of the rows by outcome, and of the people added.
	New, Already, Invalid, Irregular, People int
}

// ImportOptions are the clerk's choices for an import.
type ImportOptions struct {
	// CreatePeople adds the people a row names who are not on record, at
	// the row's lending unit, instead of refusing the row.
	CreatePeople bool
}

// errPreview rolls a preview's transaction back: a preview does all an
// import would do, so that what it shows is what a commit will write
// (rows of the same file that repeat each other, a cap reached by an
// earlier row), and keeps none of it.
var errPreview = errors.New("preview: rolled back")

// ImportUpload keeps file name's content for u and previews it. A file
// that cannot be read at all (type, size, encoding, columns) is refused
// with the reason on the field "file", and nothing is kept.
func (s *Service) ImportUpload(ctx context.Context, u auth.User, name string, content []byte, o ImportOptions) (Import, error) {
	if err := registering(u); err != nil {
		return Import{}, err
	}
	rows, err := imports.Stock.Read(name, bytes.NewReader(content))
	if err != nil {
		return Import{}, err
	}
	id, err := s.store.ImportSave(ctx, postgres.AuditEvent{At: s.clock.Now(), ActorID: u.ID, ActorName: u.Name, UnitID: u.UnitID},
		postgres.ImportStock, name, content)
	if err != nil {
		return Import{}, err
	}
	return s.importRun(ctx, u, postgres.ImportFile{ID: id, Name: name}, rows, o, false)
}

// ImportPreview shows what committing upload id would do, writing nothing.
func (s *Service) ImportPreview(ctx context.Context, u auth.User, id int64, o ImportOptions) (Import, error) {
	return s.importStored(ctx, u, id, o, false)
}

// ImportCommit registers every valid row of upload id in one transaction
// and skips the others; committing again registers nothing new.
func (s *Service) ImportCommit(ctx context.Context, u auth.User, id int64, o ImportOptions) (Import, error) {
	return s.importStored(ctx, u, id, o, true)
}

// importStored runs upload id of u, read back from the store.
func (s *Service) importStored(ctx context.Context, u auth.User, id int64, o ImportOptions, commit bool) (Import, error) {
	if err := registering(u); err != nil {
		return Import{}, err
	}
	f, err := s.store.ImportGet(ctx, id, u.ID, postgres.ImportStock)
	if err != nil {
		return Import{}, err
	}
	rows, err := imports.Stock.Read(f.Name, bytes.NewReader(f.Content))
	if err != nil {
		return Import{}, err
	}
	return s.importRun(ctx, u, f, rows, o, commit)
}

// importRun previews or commits the rows of file f.
func (s *Service) importRun(ctx context.Context, u auth.User, f postgres.ImportFile, rows []imports.Row, o ImportOptions, commit bool) (Import, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Import{}, err
	}
	var out Import
	err = s.inImportTx(ctx, u, f, commit, postgres.ImportStock, func(tx *postgres.Tx) (map[string]any, error) {
		out = Import{ID: f.ID, Name: f.Name, Committed: f.CommittedAt != nil || commit}
		err := s.importRows(ctx, tx, u, cat, rows, o, !commit, &out)
		return map[string]any{"new": out.New, "already": out.Already, "invalid": out.Invalid, "people": out.People}, err
	})
	return out, err
}

// inImportTx runs an import's rows (run) in one transaction: rolled back
// for a preview (a preview does all an import would do), committed with
// the upload marked committed and audited as "<kind>.import" with the
// counts run gives.
func (s *Service) inImportTx(ctx context.Context, u auth.User, f postgres.ImportFile, commit bool, kind postgres.ImportKind,
	run func(*postgres.Tx) (map[string]any, error)) error {
	err := s.store.InTx(ctx, func(tx *postgres.Tx) error {
		counts, err := run(tx)
		if err != nil {
			return err
		}
		if !commit {
			return errPreview
		}
		counts["name"] = f.Name
		return tx.ImportCommitted(ctx, f.ID, postgres.AuditEvent{At: s.clock.Now(), ActorID: u.ID, ActorName: u.Name,
			Action: string(kind) + ".import", ObjectType: "stock_import", ObjectID: f.ID, UnitID: u.UnitID, Detail: counts})
	})
	if errors.Is(err, errPreview) {
		err = nil
	}
	return err
}

// importRows resolves and registers each row through tx (for a preview,
// to be rolled back).
func (s *Service) importRows(ctx context.Context, tx *postgres.Tx, u auth.User, cat *snapshot, rows []imports.Row, o ImportOptions,
	preview bool, out *Import) error {
	root := cat.root(u)
	scope := cat.h.Subtree(root)
	units := unitNames(cat, scope)
	var codes, names []string
	for _, r := range rows {
		codes = append(codes, r.Fields["person_code"])
		names = append(names, r.Fields["person"])
	}
	known, err := tx.PeopleNamed(ctx, codes, names, scope)
	if err != nil {
		return err
	}
	byCode := map[string]secondment.PersonView{}
	byName := map[string][]secondment.PersonView{}
	inScope := map[int64]bool{}
	for _, id := range scope {
		inScope[id] = true
	}
	for _, p := range known {
		if inScope[p.HomeUnitID] {
			byCode[p.Code] = p
			byName[p.Name] = append(byName[p.Name], p)
		}
	}
	now := s.clock.Now()
	// resolve finds row i's units and person (or the person it would add)
	// from the file's people as known so far; only a row adding a person
	// changes what it knows.
	resolve := func(i int) (row ImportRow, in RegisterInput, person secondment.PersonView, newPerson *secondment.Person) {
		r := rows[i]
		row = ImportRow{Line: r.Line, Person: r.Fields["person"], Borrower: r.Fields["borrower"], Problems: slices.Clone(r.Problems)}
		in = RegisterInput{Kind: orDefault(r.Fields["kind"], string(secondment.KindSecondment)), Alias: r.Fields["alias"],
			Purpose: r.Fields["purpose"], Task: r.Fields["task"], Start: r.Fields["start"], End: r.Fields["end"],
			Status: r.Fields["status"], ReturnedOn: r.Fields["returned_on"], ApprovalRef: r.Fields["approval_ref"],
			ApprovedOn: r.Fields["approved_on"], TransferMethod: r.Fields["transfer_method"], preview: preview, importID: out.ID}
		bad := func(field, id string, kv ...any) {
			row.Problems = append(row.Problems, imports.Problem{Field: field, Message: secondment.Msg(id, kv...)})
		}
		in.BorrowerID = units.find(r.Fields["borrower"], "borrower", bad)
		in.LenderID = units.find(r.Fields["lender"], "lender", bad)
		switch code, name := r.Fields["person_code"], r.Fields["person"]; {
		case name == "":
			bad("person", "error.required")
		case code != "":
			p, ok := byCode[code]
			if ok && p.Name != name {
				bad("person_code", "import.error.code_name", "Code", code, "Name", p.Name)
			} else if ok {
				person = p
			}
		default:
			var at []secondment.PersonView
			for _, p := range byName[name] {
				if p.HomeUnitID == in.LenderID || p.HomeUnitID == in.BorrowerID {
					at = append(at, p)
				}
			}
			if len(at) > 1 {
				bad("person", "import.error.person_ambiguous", "Name", name)
			} else if len(at) == 1 {
				person = at[0]
			}
		}
		// A person not on record is added with the row, in a savepoint:
		// if the row turns out invalid, the person goes with it.
		if name := row.Person; person.ID == 0 && name != "" && !hasProblem(row.Problems, "person", "person_code") {
			if !o.CreatePeople || in.LenderID == 0 {
				bad("person", "import.error.person_unknown", "Name", name)
			} else {
				p := secondment.Person{Code: personCode(r.Fields["person_code"], name, in.LenderID), Name: name,
					HomeUnitID: in.LenderID, Note: "imported from " + out.Name}
				if err := p.Validate(); err != nil {
					bad("person_code", "import.error.person_code")
				} else {
					newPerson = &p
				}
			}
		}
		in.PersonID = person.ID
		return row, in, person, newPerson
	}
	// A preview writes a row only for the rows after it that read it from
	// the store (see laterRows): which rows name the same lending unit is
	// known from the file, read from its end.
	var later []laterRows
	if preview {
		later = make([]laterRows, len(rows))
		lenders := map[int64]bool{}
		for i := len(rows) - 1; i >= 0; i-- {
			_, in, person, newPerson := resolve(i)
			lender := in.LenderID
			if lender == 0 {
				lender = person.HomeUnitID
			}
			later[i] = laterRows{lender: lenders[lender], always: newPerson != nil}
			lenders[lender] = true
		}
	}
	ahead := readAhead{}
	previewNumbers := map[string]bool{} // numbers the preview's written rows took
	// Each row is written with a later batch's reads (RegisterLater), so
	// its number arrives later: the rows are in place from the start.
	out.Rows = make([]ImportRow, len(rows))
	tx.ExpectRegistrations(len(rows))
	for i, r := range rows {
		row := &out.Rows[i]
		var in RegisterInput
		var person secondment.PersonView
		var newPerson *secondment.Person
		*row, in, person, newPerson = resolve(i)
		if preview {
			in.later = later[i]
		}
		bad := func(field, id string, kv ...any) {
			row.Problems = append(row.Problems, imports.Problem{Field: field, Message: secondment.Msg(id, kv...)})
		}
		if len(row.Problems) == 0 {
			var reg Registration
			codeTaken := false
			write := func(t *postgres.Tx) error {
				if newPerson != nil {
					id, err := t.PersonAdd(ctx, *newPerson, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name,
						Action: "person.create", UnitID: u.UnitID, Detail: map[string]any{"import": out.ID, "line": r.Line}})
					if err != nil {
						codeTaken = secondment.ErrorCodeOf(err) == secondment.EConflict
						return err
					}
					person = secondment.PersonView{Person: *newPerson}
					person.ID = id
				}
				in.PersonID, in.person = person.ID, &person
				numbered := func(w Registration, err error) error {
					if err != nil {
						return &lineError{r.Line, err}
					}
					if !preview {
						// A preview's numbers are rolled back with it.
						row.Number = w.Number
					}
					return nil
				}
				if newPerson != nil {
					var err error
					reg, err = s.register(ctx, t, u, cat, in, numbered)
					return err
				}
				prep, err := s.prepare(ctx, t, u, cat, in)
				if err != nil {
					return err
				}
				facts, err := ahead.facts(ctx, t, i, prep.key(), func(k int) (postgres.RegisterKey, bool) {
					_, kin, kperson, knew := resolve(k)
					if knew != nil {
						return postgres.RegisterKey{}, false
					}
					kin.person = &kperson
					kprep, err := s.prepare(ctx, t, u, cat, kin)
					if err != nil || kperson.ID == 0 {
						return postgres.RegisterKey{}, true // no facts to read; its turn will tell why
					}
					return kprep.key(), true
				}, len(rows))
				if err != nil {
					return err
				}
				if reg, err = s.judge(ctx, t, u, cat, prep, facts, numbered); err == nil && !reg.Already {
					ahead.wrote(prep.key(), reg.record, reg.written)
				}
				return err
			}
			var err error
			if newPerson != nil {
				err = tx.Savepoint(ctx, write)
			} else {
				err = write(tx)
			}
			var de *secondment.Error
			var le *lineError
			switch {
			case errors.As(err, &le):
				// An earlier row's write, gone with this row's reads.
				return err
			case codeTaken:
				// The code is someone's elsewhere: said on the row, without
				// telling whose.
				bad("person_code", "import.error.person_code_taken")
			case errors.As(err, &de) && de.Code == secondment.EInvalid:
				for _, fe := range de.Fields {
					row.Problems = append(row.Problems, imports.Problem{Field: fe.Field, Message: fe.Message})
				}
			case err != nil:
				return fmt.Errorf("import line %d: %w", r.Line, err)
			default:
				row.State, row.Irregular, row.Findings = reg.State, reg.Irregular, reg.Findings
				row.Outcome = ImportNew
				if reg.Already {
					row.Outcome, row.Number = ImportAlready, reg.Number
					if previewNumbers[reg.Number] {
						// The row it repeats is the preview's own:
						// its number goes with the rollback.
						row.Number = ""
					}
				} else if preview && reg.written {
					previewNumbers[reg.record.Number] = true
				}
				if newPerson != nil {
					row.NewPerson = true
					out.People++
					byCode[person.Code] = person
					byName[person.Name] = append(byName[person.Name], person)
				}
			}
		}
		switch {
		case len(row.Problems) > 0:
			row.Outcome = ImportInvalid
			out.Invalid++
		case row.Outcome == ImportAlready:
			out.Already++
		default:
			out.New++
			if len(row.Irregular) > 0 {
				out.Irregular++
			}
		}
	}
	if err := tx.Flush(ctx); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// importWindow is how many rows' facts an import reads in one batch.
const importWindow = 100

// readAhead reads the facts of an import's rows a window at a time, in
// one round trip with the writes queued before, and makes each row see
// every row before it, as it would reading one at a time. A row's facts
// are its person's requests (and the registration of the same secondment),
// and the people away from its lending unit:
//   - the rows of the same person that the store did not hold when the
//     facts were read (written since, or, in a preview, not written at
//     all) are added to them from the import's own rows;
//   - a row away from the same lending unit, of another person, written
//     since the window was read changes the count: that row's facts are
//     read again, alone.
type readAhead struct {
	reads  int // reads of facts so far: each also writes what was queued before it
	window map[int]postgres.RegisterFacts
	keys   map[int]postgres.RegisterKey
	readAt int                    // the read that gave the window
	away   []postgres.RegisterKey // rows away written since
	mine   map[int64][]fileRow    // per person, the rows judged so far
}

// fileRow is a row of the import as judged: its record (with an id of its
// own below zero, as the rules tell requests apart by id), and the first
// read that finds it in the store (math.MaxInt: none, a preview's row
// not written).
type fileRow struct {
	rec     postgres.SecondmentRecord
	visible int
}

// wrote notes row k as judged: rec, queued for writing or not.
func (a *readAhead) wrote(k postgres.RegisterKey, rec secondment.Secondment, written bool) {
	if a.mine == nil {
		a.mine = map[int64][]fileRow{}
	}
	n := 0
	for _, rows := range a.mine {
		n += len(rows)
	}
	rec.ID = -int64(n + 1)
	visible := math.MaxInt
	if written {
		visible = a.reads + 1
		if rec.State.Away() {
			a.away = append(a.away, k)
		}
	}
	a.mine[k.PersonID] = append(a.mine[k.PersonID], fileRow{postgres.SecondmentRecord{Secondment: rec}, visible})
}

// awayChanged reports whether a row of another person away from k's
// lending unit was written since the window was read.
func (a *readAhead) awayChanged(k postgres.RegisterKey) bool {
	for _, w := range a.away {
		if w.LenderID == k.LenderID && w.PersonID != k.PersonID {
			return true
		}
	}
	return false
}

// merged are facts f of k, read by read number at, with the import's rows
// of k's person that read did not find.
func (a *readAhead) merged(f postgres.RegisterFacts, k postgres.RegisterKey, at int) postgres.RegisterFacts {
	var add []postgres.SecondmentRecord
	for _, r := range a.mine[k.PersonID] {
		if r.visible <= at {
			continue
		}
		add = append(add, r.rec)
		if f.Existing == nil && r.rec.BorrowerID == k.BorrowerID && r.rec.Start == k.Start {
			f.Existing = &postgres.Registered{Number: r.rec.Number, Already: true}
		}
	}
	if len(add) > 0 {
		f.History = append(slices.Clone(f.History), add...)
		slices.SortStableFunc(f.History, func(x, y postgres.SecondmentRecord) int { return x.Start.Compare(y.Start) })
	}
	return f
}

// facts are row i's (key k): from the window when read there, read again
// alone when a row away from its lending unit was written since;
// otherwise a new window is read from row i on, each later row's key from
// keyOf until it says stop (a row that adds a person: what rows after it
// name may change).
func (a *readAhead) facts(ctx context.Context, tx *postgres.Tx, i int, k postgres.RegisterKey,
	keyOf func(int) (postgres.RegisterKey, bool), n int) (postgres.RegisterFacts, error) {
	if f, ok := a.window[i]; ok && a.keys[i] == k {
		if !a.awayChanged(k) {
			return a.merged(f, k, a.readAt), nil
		}
		// Its facts alone again: the rest of the window stands, as far as
		// the rows written since allow.
		a.reads++
		facts, err := tx.RegisterFactsOf(ctx, []postgres.RegisterKey{k})
		if err != nil {
			return postgres.RegisterFacts{}, err
		}
		return a.merged(facts[0], k, a.reads), nil
	}
	keys, rows := []postgres.RegisterKey{k}, []int{i}
	for j := i + 1; j < n && len(keys) < importWindow; j++ {
		kj, more := keyOf(j)
		if !more {
			break
		}
		if kj.PersonID != 0 {
			keys, rows = append(keys, kj), append(rows, j)
		}
	}
	a.reads++
	facts, err := tx.RegisterFactsOf(ctx, keys)
	if err != nil {
		return postgres.RegisterFacts{}, err
	}
	a.window, a.keys, a.readAt, a.away = map[int]postgres.RegisterFacts{}, map[int]postgres.RegisterKey{}, a.reads, nil
	for x, j := range rows {
		a.window[j], a.keys[j] = facts[x], keys[x]
	}
	return a.merged(facts[0], k, a.reads), nil
}

// lineError is a row's write that failed: it went with a later row's reads
// (or the import's last batch), so it names its own row. The import stops:
// PostgreSQL has aborted the transaction.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("import line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func hasProblem(ps []imports.Problem, fields ...string) bool {
	for _, p := range ps {
		for _, f := range fields {
			if p.Field == f {
				return true
			}
		}
	}
	return false
}

// personCode is the code of a person an import adds: the one the row
// gives, or one derived from the name and unit, so that importing the same
// file again finds the same person.
func personCode(given, name string, unit int64) string {
	if given != "" {
		return given
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d", name, unit)))
	return "IMP-" + strings.ToUpper(hex.EncodeToString(h[:6]))
}

// unitIndex finds the units of a scope by code or by name.
type unitIndex struct {
	byCode map[string]int64
	byName map[string][]int64
}

func unitNames(cat *snapshot, scope []int64) unitIndex {
	x := unitIndex{byCode: map[string]int64{}, byName: map[string][]int64{}}
	for _, id := range scope {
		u := cat.unit(id)
		x.byCode[u.Code] = id
		x.byName[u.Name] = append(x.byName[u.Name], id)
	}
	return x
}

// find is the unit named v (a code or a name) in the scope; 0, with the
// problem told to bad, when there is none or more than one.
func (x unitIndex) find(v, field string, bad func(field, id string, kv ...any)) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		bad(field, "error.required")
		return 0
	}
	if id, ok := x.byCode[strings.ToUpper(v)]; ok {
		return id
	}
	switch ids := x.byName[v]; len(ids) {
	case 1:
		return ids[0]
	case 0:
		bad(field, "import.error.unit_unknown", "Name", v)
	default:
		bad(field, "import.error.unit_ambiguous", "Name", v)
	}
	return 0
}
