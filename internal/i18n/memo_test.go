package i18n

import (
	"testing"
	"time"

	"secondment/internal/secondment"
)

// TestMessagesWithDataAreKeptOnceRendered: a message with numbers in its
// data renders from the catalog the first time and from what was kept
// after that, with the same text as rendering it afresh; data that differ,
// in value or type, never share a text; text, data of other types and
// messages made of them are rendered every time; and a full memo starts
// again.
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
	// The length prefixes keep (12, 3) apart from (1, 23) in any order of
	// names.
	k1, _ := zh.dataKey(secondment.Msg("x", "A", 12, "B", 3))
	k2, _ := zh.dataKey(secondment.Msg("x", "A", 1, "B", 23))
	k3, _ := zh.dataKey(secondment.Msg("x", "B", 3, "A", 12))
	if k1 == k2 || k1 != k3 {
		t.Errorf("keys %q, %q, %q", k1, k2, k3)
	}
	for _, m := range []secondment.Message{
		secondment.Msg("home.hold.title", "Unit", "乡"),
		secondment.Msg("home.hold.title", "Unit", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		secondment.Msg("home.hold.title", "Unit", secondment.Msg("home.hold.title", "Unit", "镇")),
	} {
		if _, ok := zh.dataKey(m); ok {
			t.Errorf("%v: kept", m.Data)
		}
		before := c.renderedN.Load()
		if got := zh.Message(m); got != zh.render(m) || c.renderedN.Load() != before {
			t.Errorf("%v: %q, %d texts kept", m.Data, got, c.renderedN.Load()-before)
		}
	}
	for i := range maxRendered {
		zh.Message(secondment.Msg("duration.minutes", "M", 1000+i))
	}
	if n := c.renderedN.Load(); n >= maxRendered || n == 0 {
		t.Errorf("after %d more texts, %d kept", maxRendered, n)
	}
	if got := zh.Message(secondment.Msg("duration.minutes", "M", 7)); got != "7分钟" {
		t.Errorf("after a restart: %q", got)
	}
}

// TestPlainMessagesAreLookedUp: a message without data is a lookup in the
// texts rendered at Load, the same as rendering it afresh, with no key
// built and nothing allocated; in each language.
func TestPlainMessagesAreLookedUp(t *testing.T) {
	c := MustLoad()
	for _, lang := range Supported {
		l := c.Localizer(lang)
		for _, id := range c.IDs(lang) {
			if got, fresh := l.Message(secondment.Msg(id)), l.render(secondment.Msg(id)); got != fresh {
				t.Fatalf("%s %s: %q; afresh %q", lang, id, got, fresh)
			}
		}
		if n := testing.AllocsPerRun(100, func() { l.Message(secondment.Message{ID: "secondment.number"}) }); n != 0 {
			t.Errorf("%s: %.0f allocations a lookup", lang, n)
		}
	}
}
