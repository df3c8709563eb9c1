package approval

import (
	"context"
	"slices"
	"time"

	"secondment/internal/auth"
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

// Notifications lists what u was told in each of their chain roles, newest
// first, up to limit per role.
func (s *Service) Notifications(ctx context.Context, u auth.User, limit int) ([]Notification, error) {
	var all []Notification
	for _, role := range u.Roles {
		cr, ok := role.Chain()
		if !ok {
			continue
		}
		ns, err := s.store.NotificationListFor(ctx, cr, u.UnitID, u.ID, limit)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			all = append(all, Notification{ID: n.ID, Role: n.Role, SecondmentID: n.SecondmentID, Message: n.Message,
				CreatedAt: n.CreatedAt, Read: !n.ReadAt.IsZero()})
		}
	}
	slices.SortFunc(all, func(a, b Notification) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return all, nil
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
