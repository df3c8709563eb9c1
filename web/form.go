package web

import (
	"context"

	"secondment/internal/i18n"
	"secondment/internal/secondment"
)

// Form carries a form's submitted values back to the page with the problem
// of each field, so a refused form shows what was typed and why.
type Form struct {
	Values map[string]string
	Errors map[string]secondment.Message
	// Summary is the message above the form; zero when there is none.
	Summary secondment.Message
}

// NewForm is an empty form.
func NewForm() Form {
	return Form{Values: map[string]string{}, Errors: map[string]secondment.Message{}}
}

// Value is the submitted value of field.
func (f Form) Value(field string) string { return f.Values[field] }

// Has reports whether field has a problem.
func (f Form) Has(field string) bool { _, ok := f.Errors[field]; return ok }

// Error is the translated problem of field, or "".
func (f Form) Error(ctx context.Context, field string) string {
	m, ok := f.Errors[field]
	if !ok {
		return ""
	}
	return i18n.M(ctx, m)
}

// Viewer is who is looking at a page, for the header and the navigation.
type Viewer struct {
	SignedIn bool
	Name     string
	UnitName string
	Roles    []string
	Unread   int // notifications not yet seen
	// UnreadMore: the count stopped at Unread; there are more.
	UnreadMore bool
}

// Has reports whether the viewer holds any of roles.
func (v Viewer) Has(roles ...string) bool {
	for _, r := range roles {
		for _, h := range v.Roles {
			if h == r {
				return true
			}
		}
	}
	return false
}

type viewerKey struct{}

// WithViewer stores v for the layout.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer of ctx (signed out if none).
func ViewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

type rehearsalKey struct{}

// WithRehearsal marks the pages of a service running on a rehearsal clock
// (dev mode): the header says which day it pretends to be, so nobody
// mistakes a rehearsal for the real thing.
func WithRehearsal(ctx context.Context, day string) context.Context {
	return context.WithValue(ctx, rehearsalKey{}, day)
}

// RehearsalFrom is the rehearsal day of ctx, "" on the real clock.
func RehearsalFrom(ctx context.Context) string {
	d, _ := ctx.Value(rehearsalKey{}).(string)
	return d
}
