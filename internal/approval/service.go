// Package approval holds the use cases of the approval chain: a request in
// context — who may see it and act on it, each role's inbox, the people a
// clerk may nominate, renewals — and the commands (create, update, check,
// act, urge, copy, hand over, renew, return, transfer-in). Each command runs
// its visibility read and its write in one transaction and returns what the
// response needs, so nothing is read twice. Pages and the JSON API are two
// skins over these functions: they decode into the same inputs and get the
// same answers.
package approval

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Service runs the use cases. It keeps no request state: the catalog it
// caches is checked against the database's catalog version on every load,
// so any number of replicas stay right.
type Service struct {
	store *postgres.Store
	clock secondment.Clock
	// observe hears of each committed transition (Observe); nil: nobody.
	observe func(secondment.Action)

	cat atomic.Pointer[snapshot] // immutable; replaced whole when the catalog moves on
}

// New builds the use cases over store with clock as "now" (the system clock
// if nil).
func New(store *postgres.Store, clock secondment.Clock) *Service {
	if clock == nil {
		clock = secondment.SystemClock{}
	}
	return &Service{store: store, clock: clock}
}

// Observe makes fn hear of every state change of a request the use cases
// commit, once each and after the commit (a step rolled back is never
// heard): the metrics count them. Set it before the service is used.
func (s *Service) Observe(fn func(secondment.Action)) { s.observe = fn }

// committed tells the observer of the transitions a use case committed.
func (s *Service) committed(actions ...secondment.Action) {
	if s.observe == nil {
		return
	}
	for _, a := range actions {
		s.observe(a)
	}
}

// Sentinel causes of the conflicts a command returns, for errors.Is.
var (
	// ErrStale: the caller named the version it read and the request has
	// changed since (EStale).
	ErrStale = errors.New("stale version")
	// ErrConcurrentUpdate: another transaction changed the request between
	// this one's read and its guarded write (EConflict).
	ErrConcurrentUpdate = errors.New("concurrent update")
)

// versionError is the error for a request found at another version than
// the caller's (ifVersion, 0 when they named none).
func versionError(id int64, ifVersion int) error {
	if ifVersion != 0 {
		return &secondment.Error{Code: secondment.EStale, Message: secondment.Msg("error.conflict"),
			Err: fmt.Errorf("secondment %d: not at version %d: %w", id, ifVersion, ErrStale)}
	}
	return &secondment.Error{Code: secondment.EConflict, Message: secondment.Msg("error.conflict"),
		Err: fmt.Errorf("secondment %d changed meanwhile: %w", id, ErrConcurrentUpdate)}
}

func forbidden(msg string, cause error) error {
	return &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg(msg),
		Err: fmt.Errorf("%w: %w", secondment.ErrForbidden, cause)}
}

func fieldError(field, msg string, kv ...any) *secondment.Error {
	return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
		Fields: []secondment.FieldError{{Field: field, Message: secondment.Msg(msg, kv...)}}}
}

// snapshot is the catalog as one process holds it: units indexed in their
// hierarchy, and every jurisdiction's policy versions. It is immutable.
type snapshot struct {
	version  int64
	h        *secondment.Hierarchy
	policies map[int64][]secondment.Policy
	codes    map[string]int64 // unit IDs by code
	cal      secondment.Calendar
}

// catalogIn is catalog for a use case inside its transaction: a reload
// reads through tx, the connection it already holds. (Taking a second one
// from the pool while holding the first deadlocks once every connection is
// held by a use case waiting for the reload.)
func (s *Service) catalogIn(ctx context.Context, tx *postgres.Tx, version int64) (*snapshot, error) {
	return s.catalogWith(ctx, version, func() (postgres.Catalog, error) { return tx.CatalogLoad(ctx) })
}

// catalog returns the catalog at version or newer (0: whatever is
// current), reloading it when the cached one is older. Never call it with
// a transaction open: see catalogIn.
func (s *Service) catalog(ctx context.Context, version int64) (*snapshot, error) {
	return s.catalogWith(ctx, version, func() (postgres.Catalog, error) { return s.store.CatalogLoad(ctx) })
}

func (s *Service) catalogWith(ctx context.Context, version int64, load func() (postgres.Catalog, error)) (*snapshot, error) {
	if version == 0 {
		v, err := s.store.CatalogVersion(ctx)
		if err != nil {
			return nil, err
		}
		version = v
	}
	if cur := s.cat.Load(); cur != nil && cur.version >= version {
		return cur, nil // the common case
	}
	// Stale: load a copy, without any lock (a lock held while waiting for a
	// connection, with every connection held by someone waiting for the
	// lock, would stop the service), and publish it unless a newer one was
	// published meanwhile. Two callers may load at once; both copies are
	// right.
	c, err := load()
	if err != nil {
		return nil, err
	}
	h, err := secondment.NewHierarchy(c.Units)
	if err != nil {
		return nil, fmt.Errorf("unit hierarchy: %w", err)
	}
	snap := &snapshot{version: c.Version, h: h, policies: c.Policies, codes: make(map[string]int64, len(c.Units)), cal: c.Calendar}
	for _, u := range c.Units {
		snap.codes[u.Code] = u.ID
	}
	for {
		cur := s.cat.Load()
		if cur != nil && cur.version >= snap.version {
			return snap, nil
		}
		if s.cat.CompareAndSwap(cur, snap) {
			return snap, nil
		}
	}
}

// Hierarchy is the current unit tree, for scope questions outside a
// request (which units a user sees).
func (s *Service) Hierarchy(ctx context.Context) (*secondment.Hierarchy, map[int64][]secondment.Policy, error) {
	c, err := s.catalog(ctx, 0)
	if err != nil {
		return nil, nil, err
	}
	return c.h, c.policies, nil
}

// Scope is the set of units u may see.
func (s *Service) Scope(ctx context.Context, u auth.User) (auth.Scope, error) {
	c, err := s.catalog(ctx, 0)
	if err != nil {
		return auth.Scope{}, err
	}
	return auth.ScopeOf(u, c.h), nil
}

// unit is a unit of the snapshot; a missing one is the zero unit.
func (c *snapshot) unit(id int64) secondment.Unit { u, _ := c.h.Unit(id); return u }

// root is the root of u's jurisdiction: the region whose people u's unit
// may propose, register or import (u's own unit when it has none).
func (c *snapshot) root(u auth.User) int64 {
	if j, err := c.h.Jurisdiction(u.UnitID, c.policies); err == nil {
		return j.Root.ID
	}
	return u.UnitID
}

// byCode is the unit with code, if any.
func (c *snapshot) byCode(code string) (secondment.Unit, bool) {
	id, ok := c.codes[code]
	if !ok {
		return secondment.Unit{}, false
	}
	return c.h.Unit(id)
}

// recorded is the jurisdiction a submitted request recorded, whatever the
// hierarchy says today, with its policy versions.
func (c *snapshot) recorded(s secondment.Secondment) *secondment.Jurisdiction {
	if s.JurisdictionID == 0 {
		return nil
	}
	return &secondment.Jurisdiction{Root: c.unit(s.JurisdictionID), OrgDept: c.unit(s.OrgDeptID),
		Policies: c.policies[s.JurisdictionID]}
}

// policyOf is the version a submitted request is judged by.
func (c *snapshot) policyOf(s secondment.Secondment) (secondment.Policy, error) {
	for _, p := range c.policies[s.JurisdictionID] {
		if p.Version == s.PolicyVersion {
			return p, nil
		}
	}
	return secondment.Policy{}, fmt.Errorf("policy version %d of jurisdiction %d: %w", s.PolicyVersion, s.JurisdictionID,
		secondment.NotFound("policy"))
}
