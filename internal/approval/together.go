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

// UrgeInterval is how often one user may urge one request.
const UrgeInterval = 24 * time.Hour

// together runs one of the working-together commands (urge, copy in, hand
// over) on request id in one transaction with its visibility read. Copied-in
// users may only read; a supervising org dept may urge.
func (s *Service) together(ctx context.Context, u auth.User, id int64, urging bool,
	do func(tx *postgres.Tx, r Request, now time.Time) error) (Request, error) {
	now := s.clock.Now()
	err := s.store.InTxLoading(ctx, id, u.ID, func(tx *postgres.Tx, l postgres.Loaded) error {
		r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo)
		if !ok {
			return secondment.NotFound("secondment")
		}
		if !r.Party() && !(urging && r.Supervising) {
			return forbidden("error.forbidden", fmt.Errorf("%s only reads secondment %d", u.Login, id))
		}
		return do(tx, r, now)
	})
	if err != nil {
		return Request{}, err
	}
	return s.Get(ctx, u, id) // as it is now: a hand-over changed its version and handler
}

// Urge reminds whoever must act on request id (催办). One user may urge one
// request once per UrgeInterval; more is ETooSoon.
func (s *Service) Urge(ctx context.Context, u auth.User, id int64) (Request, error) {
	return s.together(ctx, u, id, true, func(tx *postgres.Tx, r Request, now time.Time) error {
		role, unit, ok := r.Pending()
		if !ok || unit == 0 {
			return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"),
				Err: fmt.Errorf("secondment %d in %s waits for nobody", id, r.State)}
		}
		if !r.CanUrge {
			return forbidden("error.forbidden", fmt.Errorf("%s would urge their own step", u.Login))
		}
		recent, err := tx.UrgedSince(ctx, id, u.ID, now.Add(-UrgeInterval))
		if err != nil {
			return err
		}
		if recent {
			return &secondment.Error{Code: secondment.ETooSoon, RetryAfter: UrgeInterval,
				Message: secondment.Msg("urge.error.too_soon", "Hours", int(UrgeInterval/time.Hour))}
		}
		if err := tx.UrgeRecord(ctx, id, u.ID, r.State, now); err != nil {
			return err
		}
		m := secondment.Msg("notify.urge", "Actor", u.Name, "Unit", u.UnitName, "Number", r.Number, "Person", r.PersonName)
		if err := tx.Notify(ctx, role, unit, r.Handler.UserID, id, m, now); err != nil {
			return err
		}
		return tx.Audit(ctx, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "secondment.urge",
			ObjectType: "secondment", ObjectID: id, UnitID: r.BorrowerID,
			Detail: map[string]any{"state": r.State, "to_role": role, "to_unit": unit}})
	})
}

// Copy copies the account login in on request id, read-only (抄送). It
// returns the request and the name of whom it copied in.
func (s *Service) Copy(ctx context.Context, u auth.User, id int64, login string) (Request, string, error) {
	var name string
	r, err := s.together(ctx, u, id, false, func(tx *postgres.Tx, r Request, now time.Time) error {
		to, err := tx.UserByLogin(ctx, strings.TrimSpace(login))
		if secondment.ErrorCodeOf(err) == secondment.ENotFound {
			return fieldError("login", "cc.error.unknown")
		}
		if err != nil {
			return err
		}
		var role secondment.Role
		for _, r := range to.Roles {
			if cr, ok := r.Chain(); ok {
				role = cr
				break
			}
		}
		if role == "" {
			// The same words as for an unknown name: the answer must not
			// tell which accounts exist.
			return fieldError("login", "cc.error.unknown")
		}
		name = to.Name
		added, err := tx.CopyIn(ctx, id, to.ID, u.ID, now)
		if err != nil || !added {
			return err // already copied in: nothing to do, nothing to say again
		}
		m := secondment.Msg("notify.cc", "Actor", u.Name, "Number", r.Number, "Person", r.PersonName)
		if err := tx.Notify(ctx, role, to.UnitID, to.ID, id, m, now); err != nil {
			return err
		}
		return tx.Audit(ctx, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "secondment.cc",
			ObjectType: "secondment", ObjectID: id, UnitID: r.BorrowerID, Detail: map[string]any{"to": to.Login}})
	})
	return r, name, err
}

// HandOver hands the waiting step of request id to a colleague of u's unit
// holding the same role (转交); from then on only they take that step. It
// returns the request and the colleague's name.
func (s *Service) HandOver(ctx context.Context, u auth.User, id, toUserID int64) (Request, string, error) {
	var name string
	r, err := s.together(ctx, u, id, false, func(tx *postgres.Tx, r Request, now time.Time) error {
		role, unit, ok := r.Pending()
		if !ok || unit != u.UnitID || !holds(u, role) {
			return forbidden("error.forbidden", fmt.Errorf("%s may not hand over step %s of secondment %d", u.Login, r.State, id))
		}
		if r.Handler.UserID != 0 && r.Handler.UserID != u.ID {
			return forbidden("handover.error.not_yours", fmt.Errorf("step %s of secondment %d is handled by user %d", r.State, id, r.Handler.UserID))
		}
		to, err := tx.UserGet(ctx, toUserID)
		if err != nil || to.UnitID != unit || !holds(to, role) || to.ID == u.ID {
			return fieldError("to", "handover.error.colleague")
		}
		name = to.Name
		if err := tx.HandlerSet(ctx, id, r.Version, r.State, to.ID, u.ID, now); errors.Is(err, postgres.ErrVersion) {
			return versionError(id, 0)
		} else if err != nil {
			return err
		}
		m := secondment.Msg("notify.handover", "Actor", u.Name, "Number", r.Number, "Person", r.PersonName)
		if err := tx.Notify(ctx, role, unit, to.ID, id, m, now); err != nil {
			return err
		}
		return tx.Audit(ctx, postgres.AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "secondment.handover",
			ObjectType: "secondment", ObjectID: id, UnitID: r.BorrowerID,
			Detail: map[string]any{"step": r.State, "to": to.Login}})
	})
	return r, name, err
}
