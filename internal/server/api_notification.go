package server

import (
	"net/http"
	"time"

	"secondment/internal/i18n"
)

type apiNotification struct {
	ID           int64     `json:"id"`
	Role         string    `json:"role"`
	SecondmentID int64     `json:"secondment_id,omitempty"`
	Kind         string    `json:"kind"`
	Text         string    `json:"text"`
	CreatedAt    time.Time `json:"created_at"`
	Read         bool      `json:"read"`
}

// handleAPINotificationList lists what the caller was told, newest first.
// Like the page, reading changes nothing; POST …/read marks them read.
func (s *Server) handleAPINotificationList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.app.Notifications(r.Context(), u, r.URL.Query().Get("after"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	unread, err := s.app.Unread(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	en := s.catalog.Localizer(i18n.English)
	out := make([]apiNotification, 0, len(page.Items))
	for _, n := range page.Items {
		out = append(out, apiNotification{ID: n.ID, Role: string(n.Role), SecondmentID: n.SecondmentID,
			Kind: n.Message.ID, Text: en.Message(n.Message), CreatedAt: n.CreatedAt, Read: n.Read})
	}
	body := map[string]any{"unread": unread, "notifications": out}
	if page.Next != "" {
		body["next"] = page.Next
	}
	writeJSON(w, body)
}

func (s *Server) handleAPINotificationsRead(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.app.MarkAllRead(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"marked_read": n})
}
