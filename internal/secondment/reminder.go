package secondment

import (
	"slices"
	"strconv"
)

// DefaultReminderDays are the days before a term's end on which the
// borrowing and lending units are reminded of it.
var DefaultReminderDays = []int{15, 3}

// Reminder is a reminder due for a running term.
type Reminder struct {
	Kind    string   // before_15, before_3, apply_by: each sent once per term end
	Covers  []string // kinds this one makes pointless, sent or not (a late 15-day reminder after the 3-day one)
	Roles   []Role
	Message Message
}

// RemindersDue lists what is due for s on day today: the most urgent of
// the "N days before the end" reminders whose day has come (a sweep that
// missed days sends one, not several), and, where the policy sets a
// renewal apply-by period and no renewal is under way, the apply-by
// reminder, naming the deadline (past a holiday it falls on, by cal). Only running terms are reminded.
func RemindersDue(p Policy, s Secondment, today Date, days []int, renewalPending bool, cal Calendar) []Reminder {
	if s.State != StateActive || s.End.Before(today) {
		return nil
	}
	left := today.DaysUntil(s.End)
	var out []Reminder
	sorted := slices.Sorted(slices.Values(days))
	for i, d := range sorted { // ascending: the first that applies is the most urgent
		if d <= 0 || left > d {
			continue
		}
		r := Reminder{Kind: "before_" + strconv.Itoa(d), Roles: []Role{RoleBorrower, RoleLender},
			Message: Msg("notify.reminder.before", s.msgData("Days", left)...)}
		for _, later := range sorted[i+1:] {
			r.Covers = append(r.Covers, "before_"+strconv.Itoa(later))
		}
		out = append(out, r)
		break
	}
	if p.RenewalApplyByDays > 0 && !renewalPending && s.Kind == KindSecondment && left <= p.RenewalApplyByDays {
		out = append(out, Reminder{Kind: "apply_by", Roles: []Role{RoleBorrower},
			Message: Msg("notify.reminder.apply_by", s.msgData("By", cal.Deadline(s.End.AddDays(-p.RenewalApplyByDays)).String())...)})
	}
	return out
}
