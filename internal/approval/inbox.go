package approval

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Tab is one of the inbox's lists.
type Tab string

const (
	TabTodo   Tab = "todo" // waiting for the user (待办)
	TabDone   Tab = "done" // the steps the user took (已办), newest first
	TabMine   Tab = "mine" // the requests the user submitted (我发起的)
	TabCopied Tab = "cc"   // the requests copied to the user (抄送我)
	TabAll    Tab = "all"  // every request the user takes part in
)

// Tabs are the inbox's lists in the order they are shown.
var Tabs = []Tab{TabTodo, TabDone, TabMine, TabCopied, TabAll}

// PageSize is how many requests one page of an inbox holds.
const PageSize = 50

// TodoCountMax caps the to-do count a badge shows ("999+").
const TodoCountMax = 1000

// Inbox is one page of a user's requests, newest first.
type Inbox struct {
	Tab       Tab
	Rows      []Request
	Next      string // the cursor of the next page; "" on the last
	TodoCount int    // up to TodoCountMax
	// Counts are the other lists' sizes (已办, 我发起的, 抄送我), each up to
	// TodoCountMax.
	Counts map[Tab]int
}

// inboxQuery is the parties of u (their own chain roles and those of the
// colleagues they stand in for) and, for an org dept, the waiting steps
// flagged to it.
func inboxQuery(u auth.User, todo bool) postgres.InboxQuery {
	q := postgres.InboxQuery{States: map[secondment.Role][]secondment.State{}}
	seen := map[postgres.InboxParty]bool{}
	for _, who := range append([]auth.User{u}, u.ActingFor...) {
		for _, role := range who.Roles {
			r, ok := role.Chain()
			if !ok {
				continue
			}
			p := postgres.InboxParty{Role: r, UnitID: who.UnitID}
			if seen[p] {
				continue
			}
			seen[p] = true
			q.Parties = append(q.Parties, p)
			q.States[r] = secondment.TodoStates(r)
			if !todo {
				q.States[r] = visibleStates(r)
			}
			if r == secondment.RoleOrgDept {
				q.Supervisors = append(q.Supervisors, who.UnitID)
			}
		}
	}
	return q
}

// visibleStates are the states in which role r sees requests.
func visibleStates(r secondment.Role) []secondment.State {
	var out []secondment.State
	for _, st := range secondment.AllStates {
		if st.VisibleTo(r) {
			out = append(out, st)
		}
	}
	return out
}

// Find narrows the to-do or the whole list: a search text (a request's
// number, or part of its person's or units' names), a state, and the days
// the requests were made, from and to ("2006-01-02", Asia/Shanghai; ""
// for open). The other lists are not narrowed: they are short and the
// user's own.
type Find struct {
	Q        string
	State    string
	From, To string
}

// Zero reports whether f narrows nothing.
func (f Find) Zero() bool {
	return strings.TrimSpace(f.Q) == "" && f.State == "" && f.From == "" && f.To == ""
}

// narrow checks f and turns its state and days into the query's filter.
func (f Find) narrow() (postgres.Narrow, error) {
	var n postgres.Narrow
	var errs []secondment.FieldError
	if f.State != "" {
		if st := secondment.State(f.State); st.Valid() {
			n.State = st
		} else {
			errs = append(errs, secondment.FieldError{Field: "state", Message: secondment.Msg("error.invalid")})
		}
	}
	day := func(field, v string) secondment.Date {
		if v == "" {
			return secondment.Date{}
		}
		d, err := secondment.ParseDate(v)
		if err != nil {
			errs = append(errs, secondment.FieldError{Field: field, Message: secondment.Msg("error.date")})
		}
		return d
	}
	from, to := day("from", f.From), day("to", f.To)
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs = append(errs, secondment.FieldError{Field: "to", Message: secondment.Msg("inbox.error.to_before_from")})
	}
	if len(errs) > 0 {
		return n, &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: errs}
	}
	if !from.IsZero() {
		n.CreatedFrom = from.Start()
	}
	if !to.IsZero() {
		n.CreatedBefore = to.AddDays(1).Start()
	}
	return n, nil
}

// TabOf is the tab named t, the to-do list when t names none.
func TabOf(t string) Tab {
	if tab := Tab(t); slices.Contains(Tabs, tab) {
		return tab
	}
	return TabTodo
}

// Inbox lists one page of tab for u after cursor ("" for the first page).
func (s *Service) Inbox(ctx context.Context, u auth.User, tab Tab, cursor string) (Inbox, error) {
	return s.inbox(ctx, u, tab, postgres.Narrow{}, cursor)
}

func (s *Service) inbox(ctx context.Context, u auth.User, tab Tab, narrow postgres.Narrow, cursor string) (Inbox, error) {
	tab = TabOf(string(tab))
	after, err := parseCursor(cursor)
	if err != nil {
		return Inbox{}, err
	}
	out := Inbox{Tab: tab}
	if tab == TabDone || tab == TabMine || tab == TabCopied {
		counts, err := s.store.SecondmentListCounts(ctx, u.ID, TodoCountMax)
		if err != nil {
			return out, err
		}
		out.Counts = tabCounts(counts)
		if out.TodoCount, err = s.TodoCount(ctx, u); err != nil {
			return out, err
		}
		listed, err := s.store.SecondmentOwnList(ctx, postgres.ListKind(tab), u.ID, after, PageSize+1)
		if err != nil {
			return out, err
		}
		if len(listed) > PageSize {
			listed = listed[:PageSize]
			out.Next = formatCursor(listed[PageSize-1].Key)
		}
		for _, l := range listed {
			// A request the user no longer takes part in (a proxy ended,
			// a copy from a unit since left) is not shown, as its page
			// would not be.
			if r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo); ok {
				r.Done, r.ListedAt = l.Action, l.At
				out.Rows = append(out.Rows, r)
			}
		}
		return out, nil
	}
	q := inboxQuery(u, tab == TabTodo)
	q.After, q.Limit, q.Narrow = after, PageSize+1, narrow
	rows, todo, counts, err := s.store.SecondmentInboxWithCount(ctx, q, u.ID, inboxQuery(u, true), TodoCountMax)
	if err != nil {
		return out, err
	}
	out.TodoCount, out.Counts = todo, tabCounts(counts)
	if len(rows) > PageSize {
		rows = rows[:PageSize]
		last := rows[PageSize-1]
		out.Next = formatCursor(postgres.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	for _, l := range rows {
		if r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo); ok {
			out.Rows = append(out.Rows, r)
		}
	}
	return out, nil
}

func tabCounts(c map[postgres.ListKind]int) map[Tab]int {
	return map[Tab]int{TabDone: c[postgres.ListDone], TabMine: c[postgres.ListMine], TabCopied: c[postgres.ListCopied]}
}

// maxSearch bounds a search's text.
const maxSearch = 50

// InboxSearch is Inbox's to-do or whole list narrowed by f; the other
// lists are not narrowed (they are short and the user's own).
func (s *Service) InboxSearch(ctx context.Context, u auth.User, tab Tab, f Find, cursor string) (Inbox, error) {
	tab = TabOf(string(tab))
	if f.Zero() || (tab != TabTodo && tab != TabAll) {
		return s.Inbox(ctx, u, tab, cursor)
	}
	text := strings.TrimSpace(f.Q)
	if utf8.RuneCountInString(text) > maxSearch {
		return Inbox{}, fieldError("q", "error.length", "Min", 1, "Max", maxSearch)
	}
	narrow, err := f.narrow()
	if err != nil {
		return Inbox{}, err
	}
	if text == "" {
		return s.inbox(ctx, u, tab, narrow, cursor)
	}
	after, err := parseCursor(cursor)
	if err != nil {
		return Inbox{}, err
	}
	out := Inbox{Tab: tab}
	counts, err := s.store.SecondmentListCounts(ctx, u.ID, TodoCountMax)
	if err != nil {
		return out, err
	}
	out.Counts = tabCounts(counts)
	if out.TodoCount, err = s.TodoCount(ctx, u); err != nil {
		return out, err
	}
	q := inboxQuery(u, tab == TabTodo)
	q.After, q.Limit, q.Narrow = after, PageSize+1, narrow
	rows, err := s.store.SecondmentSearch(ctx, q, u.ID, text)
	if err != nil {
		return out, err
	}
	if len(rows) > PageSize {
		rows = rows[:PageSize]
		last := rows[PageSize-1]
		out.Next = formatCursor(postgres.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	for _, l := range rows {
		if r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo); ok {
			out.Rows = append(out.Rows, r)
		}
	}
	return out, nil
}

// NextTodo is the newest request waiting for u, for the home page's "next
// step"; nil when nothing waits.
func (s *Service) NextTodo(ctx context.Context, u auth.User) (*Request, error) {
	q := inboxQuery(u, true)
	q.Limit = 5 // a few, in case the newest is one u may not act on (handed to a colleague)
	rows, err := s.store.SecondmentInbox(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range rows {
		if r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo); ok && len(r.Actions) > 0 {
			return &r, nil
		}
	}
	return nil, nil
}

// TodoCount is how many requests wait for u (待办), up to TodoCountMax: the
// inbox's badge, counted without reading a page of them (a home page).
func (s *Service) TodoCount(ctx context.Context, u auth.User) (int, error) {
	return s.store.SecondmentInboxCount(ctx, inboxQuery(u, true), TodoCountMax)
}

// A cursor is "unixnano-id": opaque to the user, checked on the way in.
func formatCursor(c postgres.Cursor) string {
	return strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "-" + strconv.FormatInt(c.ID, 10)
}

func parseCursor(s string) (postgres.Cursor, error) {
	if s == "" {
		return postgres.Cursor{}, nil
	}
	ns, id, ok := strings.Cut(s, "-")
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || i <= 0 {
		return postgres.Cursor{}, fieldError("after", "error.cursor")
	}
	return postgres.Cursor{CreatedAt: time.Unix(0, n), ID: i}, nil
}

// Unread counts the notifications u has not read, for the header badge.
func (s *Service) Unread(ctx context.Context, u auth.User) (int, error) {
	n := 0
	for _, role := range u.Roles {
		if cr, ok := role.Chain(); ok {
			c, err := s.store.NotificationCountFor(ctx, cr, u.UnitID, u.ID)
			if err != nil {
				return 0, fmt.Errorf("count notifications: %w", err)
			}
			n += c
		}
	}
	return n, nil
}
