package approval

import (
	"cmp"
	"context"
	"slices"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// Notification is a message the user was told.
type Notification struct {
	ID           int64
	Role         secondment.Role // the role it was told to
	SecondmentID int64           // 0 when about no request
	Message      secondment.Message
	CreatedAt    time.Time
	Read         bool
}

// NotificationPage is one page of what a user was told.
type NotificationPage struct {
	Items []Notification
	Next  string // the cursor of the next page; "" on the last
}

// Notifications lists a page of what u was told in each of their chain
// roles, newest first, after cursor ("" for the first page): each role's
// page is one bounded index scan, merged.
func (s *Service) Notifications(ctx context.Context, u auth.User, cursor string) (NotificationPage, error) {
	after, err := parseCursor(cursor)
	if err != nil {
		return NotificationPage{}, err
	}
	var all []Notification
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		ns, err := s.store.NotificationListFor(ctx, cr, u.UnitID, u.ID, after, PageSize+1)
		if err != nil {
			return NotificationPage{}, err
		}
		for _, n := range ns {
			all = append(all, Notification{ID: n.ID, Role: n.Role, SecondmentID: n.SecondmentID, Message: n.Message,
				CreatedAt: n.CreatedAt, Read: !n.ReadAt.IsZero()})
		}
	}
	slices.SortFunc(all, func(a, b Notification) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out := NotificationPage{Items: all}
	if len(all) > PageSize {
		out.Items = all[:PageSize]
		last := out.Items[PageSize-1]
		out.Next = formatCursor(postgres.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return out, nil
}

// MarkAllRead marks everything u was told as read; it returns how many.
func (s *Service) MarkAllRead(ctx context.Context, u auth.User) (int, error) {
	total := 0
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		n, err := s.store.NotificationMarkAllRead(ctx, cr, u.UnitID, u.ID, s.clock.Now())
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
