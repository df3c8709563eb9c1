package i18n

import (
	"strings"
	"testing"
	"time"

	"secondment/internal/secondment"
)

// TestMessagesWithDataAreKeptOnceRendered: a message with data renders
// from the catalog the first time and from what was kept after that, with
// the same text as rendering it afresh; data that differ, in value, type or
// where one value ends, never share a text; data of other types and long
// data are rendered every time.
func TestMessagesWithDataAreKeptOnceRendered(t *testing.T) {
	c := MustLoad()
	zh, en := c.Localizer(Chinese), c.Localizer(English)
	cases := []struct {
		l    *Localizer
		m    secondment.Message
		want string
	}{
		{zh, secondment.Msg("duration.days_hours", "D", 1, "H", 23), "1天23小时"},
		{zh, secondment.Msg("duration.days_hours", "D", 12, "H", 3), "12天3小时"},
		{zh, secondment.Msg("duration.days_hours", "D", int64(12), "H", 3), "12天3小时"},
		{en, secondment.Msg("person.list.count", "Count", 1), "1 person"},
		{en, secondment.Msg("person.list.count", "Count", 2), "2 people"},
		{zh, secondment.Msg("home.hold.title", "Unit", "乡"), "乡借调人员"},
		{zh, secondment.Msg("home.hold.title", "Unit", "1"), "1借调人员"},
		{zh, secondment.Msg("home.hold.title", "Unit", secondment.Msg("unit.level.county")), "县级借调人员"},
	}
	for i, c2 := range cases {
		for round := range 2 {
			if got := c2.l.Message(c2.m); got != c2.want || got != c2.l.render(c2.m) {
				t.Errorf("case %d, round %d: %q (afresh %q); want %q", i, round, got, c2.l.render(c2.m), c2.want)
			}
		}
	}
	// int and int64 of one value print alike and share their text.
	if n := c.renderedN.Load(); n != int64(len(cases)-1) {
		t.Errorf("%d texts kept for %d messages, two of them alike", n, len(cases))
	}
	// The length prefixes keep ("ab", "c") apart from ("a", "bc").
	k1, _ := zh.dataKey(secondment.Msg("x", "A", "ab", "B", "c"))
	k2, _ := zh.dataKey(secondment.Msg("x", "A", "a", "B", "bc"))
	if k1 == k2 {
		t.Errorf("two data, one key: %q", k1)
	}
	for _, m := range []secondment.Message{
		secondment.Msg("home.hold.title", "Unit", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		secondment.Msg("home.hold.title", "Unit", strings.Repeat("长", 200)),
	} {
		if _, ok := zh.dataKey(m); ok {
			t.Errorf("%v: kept", m.Data)
		}
		before := c.renderedN.Load()
		if got := zh.Message(m); got != zh.render(m) || c.renderedN.Load() != before {
			t.Errorf("%v: %q, %d texts kept", m.Data, got, c.renderedN.Load()-before)
		}
	}
}
