package secondment

// DefaultEscalateAfter is how many working days a review step may stay
// untouched before it is flagged to the supervising org dept.
const DefaultEscalateAfter = 5

// EscalationDue reports whether a review step that last moved on day last
// has waited more than after working days (by cal) by today.
func EscalationDue(cal Calendar, last, today Date, after int) bool {
	return after > 0 && cal.WorkingDaysAfter(last, today) > after
}

// Supervisor is the org dept that hears of a review step left untouched: for
// the lending unit's consent, the approving org dept; for the sign-off, the
// org dept one region up (九原区委组织部 → 包头市委组织部). ok is false when
// there is none above.
func (h *Hierarchy) Supervisor(s Secondment) (Unit, bool) {
	switch s.State {
	case StateAwaitingConsent:
		return h.Unit(s.OrgDeptID)
	case StateAwaitingSignoff:
		od, ok := h.Unit(s.OrgDeptID)
		if !ok || od.ParentID == 0 {
			return Unit{}, false
		}
		region, ok := h.Unit(od.ParentID)
		if !ok || region.ParentID == 0 {
			return Unit{}, false
		}
		for _, a := range h.Ancestors(region.ParentID) {
			if up, ok := h.OrgDeptOf(a.ID); ok && up.ID != od.ID {
				return up, true
			}
		}
	}
	return Unit{}, false
}
