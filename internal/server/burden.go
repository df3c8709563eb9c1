package server

import (
	"net/http"

	"secondment/internal/secondment"
)

// apiBurden is a lending unit's load (R14) on the API, as its home page
// shows it.
type apiBurden struct {
	UnitCode         string `json:"unit_code"`
	UnitName         string `json:"unit_name"`
	Away             int    `json:"away"`
	Headcount        *int   `json:"headcount"` // null: not on record
	Percent          string `json:"percent,omitempty"`
	ThresholdPercent string `json:"threshold_percent,omitempty"` // absent: the policy sets none
	Warn             bool   `json:"warn"`
}

// handleAPIBurden answers the caller's lending unit's people away against
// its headcount and the policy's warning threshold.
func (s *Server) handleAPIBurden(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.app.Burden(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := apiBurden{UnitCode: b.Unit.Code, UnitName: b.Unit.Name, Away: b.Burden.Away, Warn: b.Burden.Warn}
	if b.Burden.Headcount > 0 {
		out.Headcount, out.Percent = &b.Burden.Headcount, secondment.Percent(b.Burden.BP)
	}
	if b.ThresholdBP > 0 {
		out.ThresholdPercent = secondment.Percent(b.ThresholdBP)
	}
	writeJSON(w, out)
}
