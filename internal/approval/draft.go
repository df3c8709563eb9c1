package approval

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// DraftInput is the request form as a page's form or an API call brings
// it. PersonID ≤ 0 is "no person chosen"; dates are "2006-01-02".
type DraftInput struct {
	PersonID      int64
	PreviousID    int64 // the term this request renews (R6); 0 for a first term
	Kind          string
	Alias         string
	Purpose       string
	Task          string
	Start, End    string
	Justification string
	Programme     string // R9: the org dept's programme or document behind a formal exchange or attachment
	SalaryWith    string // 工资关系: "lender" (the default) or "borrower"
	SelfOpinion   string // 本人意见, as the secondee gave it
	KeyPost       bool   // the post is a key or classified post (R16)
	// Letter is the borrowing unit's signed letter (借调函), kept with the
	// draft when it is created or edited; nil for none. Checking a form
	// ignores it. An idempotency key vouches for its digest, not its bytes.
	Letter *File `json:"-"`
	// Invalid is a problem the caller found decoding the input, reported
	// by Update after its visibility check (see ActInput.Invalid).
	Invalid error `json:"-"` // not part of what an idempotency key vouches for
}

// draft reads in for u's borrowing unit, checking what the rules do not:
// a person and dates given, no date in the past, a person the clerk could
// have picked (anyone else is judged as unknown, so nothing is told about
// people outside the jurisdiction), a renewal of a term of the clerk's
// unit that is running, for the same person, from the day after it. Every
// problem is returned at once, as field errors.
func (s *Service) draft(ctx context.Context, r reader, u auth.User, cat *snapshot, in DraftInput, prev *postgres.SecondmentRecord) (secondment.Secondment, error) {
	d := secondment.Secondment{BorrowerID: u.UnitID, Kind: secondment.Kind(in.Kind), Alias: secondment.Alias(in.Alias),
		Purpose: secondment.Purpose(in.Purpose), Task: strings.TrimSpace(in.Task),
		Justification: strings.TrimSpace(in.Justification), Programme: strings.TrimSpace(in.Programme),
		SalaryWith: secondment.SalaryWith(strings.TrimSpace(in.SalaryWith)).Or(), SelfOpinion: strings.TrimSpace(in.SelfOpinion), KeyPost: in.KeyPost,
		PersonID: in.PersonID, PreviousID: in.PreviousID}
	var fe []secondment.FieldError
	bad := func(field, id string, kv ...any) {
		if !slices.ContainsFunc(fe, func(f secondment.FieldError) bool { return f.Field == field }) {
			fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg(id, kv...)})
		}
	}
	today := secondment.Today(s.clock)
	for _, f := range []struct {
		field, v string
		dst      *secondment.Date
	}{{"start", in.Start, &d.Start}, {"end", in.End, &d.End}} {
		day, err := secondment.ParseDate(strings.TrimSpace(f.v))
		switch {
		case strings.TrimSpace(f.v) == "":
			bad(f.field, "error.required")
		case err != nil:
			var de *secondment.Error
			if errors.As(err, &de) && de.Message.ID == "date.error.range" {
				fe = append(fe, secondment.FieldError{Field: f.field, Message: de.Message})
			} else {
				bad(f.field, "error.date")
			}
		case day.Before(today):
			bad(f.field, "secondment.error.past", "Today", today.String())
		default:
			*f.dst = day
		}
	}
	if d.PersonID <= 0 {
		d.PersonID = 0
		bad("person", "secondment.error.person")
	} else if home, name, err := nominable(ctx, r, u, cat, d.PersonID); err != nil {
		return d, err
	} else if home == 0 {
		d.PersonID = 0 // not judged: the check says nothing of people outside the jurisdiction
		bad("person", "secondment.error.person")
	} else {
		// Named, so that what the rules say of it names its subject.
		d.LenderID, d.PersonName, d.LenderName = home, name, cat.unit(home).Name
	}
	d.BorrowerName = cat.unit(u.UnitID).Name
	if d.PreviousID < 0 {
		bad("previous_id", "term.error.previous_unit")
	} else if d.PreviousID != 0 {
		switch {
		case prev == nil || prev.BorrowerID != u.UnitID:
			bad("previous_id", "term.error.previous_unit")
		case prev.State != secondment.StateActive && prev.State != secondment.StateApproved:
			bad("previous_id", "term.error.previous_state", "Number", prev.Number)
		case today.After(prev.End):
			bad("previous_id", "term.error.previous_ended", "Number", prev.Number, "End", prev.End.String())
		}
		if prev != nil && prev.BorrowerID == u.UnitID {
			if d.PersonID != 0 && d.PersonID != prev.PersonID {
				bad("person", "term.error.previous_person", "Person", prev.PersonName)
			}
			if want := prev.End.AddDays(1); !d.Start.IsZero() && d.Start != want {
				bad("start", "term.error.renewal_start", "Expected", want.String())
			}
		}
	}
	var ve *secondment.Error
	if err := d.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == "lender" && d.LenderID == 0 {
				continue // the person's problem says it: the lender is their home unit
			}
			if (f.Field == "start" || f.Field == "end") && (d.Start.IsZero() || d.End.IsZero()) {
				continue // already said
			}
			bad(f.Field, f.Message.ID, kvOf(f.Message.Data)...)
		}
	}
	if len(fe) > 0 {
		return d, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	return d, nil
}

func kvOf(m map[string]any) []any {
	var kv []any
	for k, v := range m {
		kv = append(kv, k, v)
	}
	return kv
}

// nominable returns the home unit and name of a person the clerk u may propose:
// anyone on record in the jurisdiction, outside the clerk's own unit; 0
// for anyone else. The rules, not this, decide who may really be borrowed,
// and say why.
func nominable(ctx context.Context, r reader, u auth.User, cat *snapshot, personID int64) (int64, string, error) {
	home, name, err := r.PersonHome(ctx, personID)
	if secondment.ErrorCodeOf(err) == secondment.ENotFound {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	root := cat.root(u)
	if home == u.UnitID || !cat.h.Contains(root, home) {
		return 0, "", nil
	}
	return home, name, nil
}

// borrowing refuses anyone but a borrowing unit's clerk: only they fill
// in requests, so only they see whom they may nominate and how the rules
// would judge it.
func borrowing(u auth.User) error {
	if !holds(u, secondment.RoleBorrower) {
		return forbidden("error.forbidden", fmt.Errorf("%s is no borrowing clerk", u.Login))
	}
	return nil
}

// reader is where a use case reads what it judges a form by: the pool, or
// the transaction it holds (a use case never takes a second connection
// while holding one).
type reader interface {
	PersonHome(ctx context.Context, id int64) (int64, string, error)
	SecondmentGet(ctx context.Context, id int64) (postgres.SecondmentRecord, error)
}

// Nominee is a person a borrowing clerk may propose.
type Nominee struct {
	ID                   int64
	Name, UnitName, Post string
}

// nomineeLimit bounds the people a search offers: a province has tens of
// thousands; the clerk narrows by name.
const nomineeLimit = 200

// Nominees lists the people u may propose whose name or unit contains q
// (all of them, up to a limit, when q is empty).
func (s *Service) Nominees(ctx context.Context, u auth.User, q string) ([]Nominee, error) {
	if err := borrowing(u); err != nil {
		return nil, err
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return nil, err
	}
	root := cat.root(u)
	units := cat.h.Subtree(root)
	people, err := s.store.PersonSearch(ctx, units, u.UnitID, orgDeptsIn(cat, units), q, nomineeLimit)
	if err != nil {
		return nil, err
	}
	out := make([]Nominee, len(people))
	for i, p := range people {
		out[i] = Nominee{ID: p.ID, Name: p.Name, UnitName: p.HomeUnitName, Post: p.Post}
	}
	return out, nil
}

// previous reads the term a renewal names, if any.
func previous(ctx context.Context, r reader, id int64) (*postgres.SecondmentRecord, error) {
	if id <= 0 {
		return nil, nil
	}
	p, err := r.SecondmentGet(ctx, id)
	if secondment.ErrorCodeOf(err) == secondment.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// maxKey bounds an idempotency key.
const maxKey = 200

// Create saves a draft by borrowing clerk u. A non-empty idempotency key
// makes it happen once per user and key: repeating it (a double click, a
// retried call) returns the draft it created, never a second one.
func (s *Service) Create(ctx context.Context, u auth.User, in DraftInput, key string) (Request, error) {
	if err := borrowing(u); err != nil {
		return Request{}, err
	}
	if utf8.RuneCountInString(key) > maxKey {
		return Request{}, fieldError("idempotency_key", "error.length", "Min", 0, "Max", maxKey)
	}
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Request{}, err
	}
	prev, err := previous(ctx, s.store, in.PreviousID)
	if err != nil {
		return Request{}, err
	}
	now := s.clock.Now()
	// What the key vouches for: the same input again is a retry, another
	// one under the same key a mistake (issue #13).
	b, err := json.Marshal(in)
	if err != nil {
		return Request{}, fmt.Errorf("fingerprint the draft: %w", err)
	}
	if in.Letter != nil {
		d := sha256.Sum256(in.Letter.Data)
		b = append(append(b, in.Letter.Name...), d[:]...)
	}
	fp := sha256.Sum256(b)
	var id int64
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		if key != "" {
			if id, err = tx.IdempotentCreate(ctx, u.ID, key, fp[:]); err != nil || id != 0 {
				return err // done before: the same draft
			}
		}
		d, err := s.draft(ctx, tx, u, cat, in, prev)
		if err != nil {
			return err
		}
		if id, err = tx.DraftInsert(ctx, d, now); err != nil {
			return err
		}
		if err := addLetter(ctx, tx, id, u, in.Letter, now); err != nil {
			return err
		}
		if key != "" {
			if err := tx.IdempotencyKeySave(ctx, u.ID, key, fp[:], id, now); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "secondment.create",
			ObjectType: "secondment", ObjectID: id, UnitID: d.BorrowerID, Detail: withLetter(map[string]any{"state": secondment.StateDraft,
				"person_id": d.PersonID, "lender_id": d.LenderID, "start": d.Start, "end": d.End, "version": 1}, in.Letter)})
	})
	if errors.Is(err, postgres.ErrKeyTaken) {
		// A concurrent create of the same key committed first (its key
		// insert made ours wait for it); ours rolled back: return its draft.
		id, err = s.store.IdempotentCreate(ctx, u.ID, key, fp[:])
	}
	if errors.Is(err, postgres.ErrKeyReused) {
		return Request{}, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.idempotency_reused"),
			Fields: []secondment.FieldError{{Field: "idempotency_key", Message: secondment.Msg("error.idempotency_reused")}},
			Err:    fmt.Errorf("key %q of user %d: %w", key, u.ID, err)}
	}
	if err != nil {
		return Request{}, fmt.Errorf("create secondment: %w", err)
	}
	return s.Get(ctx, u, id)
}

// Update edits a draft or a sent-back request of u's borrowing unit, read
// at ifVersion (0: don't check). A save that changes nothing writes
// nothing. The person can change only while the request is a draft: after
// submission another person is another request. Editing a sent-back
// request records that it changed, so its resubmission goes to the lending
// unit again.
func (s *Service) Update(ctx context.Context, u auth.User, id int64, ifVersion int, in DraftInput) (Request, error) {
	cat, err := s.catalog(ctx, 0)
	if err != nil {
		return Request{}, err
	}
	now := s.clock.Now()
	err = s.store.InTxLoading(ctx, id, u.ID, func(tx *postgres.Tx, l postgres.Loaded) error {
		cur, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo)
		if !ok {
			return secondment.NotFound("secondment")
		}
		if !holds(u, secondment.RoleBorrower) || cur.BorrowerID != u.UnitID {
			return forbidden("error.forbidden", fmt.Errorf("%s editing secondment %d of unit %d", u.Login, id, cur.BorrowerID))
		}
		// Bad input is the editor's to hear about: after the visibility
		// check (404) and the right to edit (403).
		if in.Invalid != nil {
			return in.Invalid
		}
		if ifVersion != 0 && ifVersion != l.Version {
			return versionError(id, ifVersion)
		}
		if cur.State != secondment.StateDraft && cur.State != secondment.StateSentBack {
			return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"),
				Err: fmt.Errorf("secondment %d is %s: %w", id, cur.State, secondment.ErrInvalidTransition)}
		}
		if in.PreviousID == 0 {
			in.PreviousID = cur.PreviousID
		}
		prev, err := previous(ctx, tx, in.PreviousID)
		if err != nil {
			return err
		}
		d, err := s.draft(ctx, tx, u, cat, in, prev)
		if err != nil {
			return err
		}
		if cur.State == secondment.StateSentBack && d.PersonID != cur.PersonID {
			return fieldError("person", "error.invalid")
		}
		changed := changedFields(cur.Secondment, d)
		if in.Letter != nil {
			changed = append(changed, "letter")
		}
		if len(changed) == 0 {
			return nil
		}
		version, err := tx.DraftUpdate(ctx, id, l.Version, d, now)
		if errors.Is(err, postgres.ErrVersion) {
			return versionError(id, ifVersion)
		}
		if err != nil {
			return err
		}
		if err := addLetter(ctx, tx, id, u, in.Letter, now); err != nil {
			return err
		}
		return tx.Audit(ctx, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "secondment.update",
			ObjectType: "secondment", ObjectID: id, UnitID: cur.BorrowerID,
			Detail: withLetter(map[string]any{"state": cur.State, "fields": changed, "version": version}, in.Letter)})
	})
	if err != nil {
		return Request{}, fmt.Errorf("update secondment %d: %w", id, err)
	}
	return s.Get(ctx, u, id)
}

// MaxDraftLetters caps the borrowing unit's letters kept with one
// request. Each edit of a draft may bring one, and a letter is never
// deleted, so without a cap one request could hold any number of 10 MB
// files. A real request carries one, or a few when sent back.
const MaxDraftLetters = 10

// addLetter keeps the borrowing unit's letter with draft id, in the
// draft's transaction; nothing when there is none. Past MaxDraftLetters
// it is refused beside the letter field, and the transaction with it. The
// edits of one draft are one after the other (each moves its version), so
// two cannot both take the last place.
func addLetter(ctx context.Context, tx *postgres.Tx, id int64, u auth.User, f *File, now time.Time) error {
	if f == nil {
		return nil
	}
	n, err := tx.DraftLetterCount(ctx, id)
	if err != nil {
		return err
	}
	if n >= MaxDraftLetters {
		return fieldError("letter", "upload.error.too_many", "Max", MaxDraftLetters)
	}
	return tx.AttachmentAdd(ctx, id, u.ID, &postgres.Attachment{Name: f.Name, ContentType: f.ContentType, Data: f.Data}, now)
}

// withLetter names the letter in an audit event's detail.
func withLetter(detail map[string]any, f *File) map[string]any {
	if f != nil {
		detail["letter"] = f.Name
	}
	return detail
}

// changedFields names the fields of the form that differ.
func changedFields(a, b secondment.Secondment) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"kind", a.Kind == b.Kind}, {"alias", a.Alias == b.Alias}, {"purpose", a.Purpose == b.Purpose},
		{"task", a.Task == b.Task}, {"person", a.PersonID == b.PersonID}, {"start", a.Start == b.Start},
		{"end", a.End == b.End}, {"previous", a.PreviousID == b.PreviousID},
		{"justification", a.Justification == b.Justification}, {"programme", a.Programme == b.Programme},
		{"salary_with", a.SalaryWith.Or() == b.SalaryWith.Or()}, {"self_opinion", a.SelfOpinion == b.SelfOpinion},
		{"key_post", a.KeyPost == b.KeyPost},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}
