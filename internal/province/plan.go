package province

import "math/rand/v2"

// kind is what the generator makes for one entry of the plan: a request in
// one state, or (renewedPair) a term that was renewed together with the
// renewal that took it over.
type kind uint8

const (
	kReturned kind = iota
	kRenewedPair
	kTransferred
	kDeclined
	kRejected
	kWithdrawn
	kActive
	kExpired
	kOverdue
	kReturnRecorded
	kTransferPending
	kApproved
	kSentBack
	kDraft
	kAwaitingConsent // the consent pool
	kAwaitingSignoff // the approve pool
)

// history is the mix of requests that are not in a pool, in percent of rows
// (a renewed pair is two rows). Mostly terminal, some running, a few fresh.
var history = []struct {
	k   kind
	pct float64
}{
	{kReturned, 36}, {kRenewedPair, 16}, {kTransferred, 2}, {kDeclined, 7}, {kRejected, 5}, {kWithdrawn, 8},
	{kActive, 11}, {kExpired, 3}, {kOverdue, 2}, {kReturnRecorded, 1.5}, {kTransferPending, 0.5},
	{kApproved, 2}, {kSentBack, 2}, {kDraft, 4},
}

// holds reports whether requests of kind k hold their person today:
// signed off, on post, away past the end or in transfer-in.
func (k kind) holds() bool {
	switch k {
	case kActive, kExpired, kOverdue, kTransferPending, kApproved:
		return true
	}
	return false
}

// era orders the plan so IDs grow with time as in a real database: the
// closed past first, then running terms, then the requests of recent weeks.
func (k kind) era() int {
	switch k {
	case kReturned, kRenewedPair, kTransferred, kDeclined, kRejected, kWithdrawn:
		return 0
	case kActive, kExpired, kOverdue, kReturnRecorded, kTransferPending:
		return 1
	}
	return 2
}

// planKinds returns n rows' worth of kinds: consent and approve pool
// entries, the rest by the history mix with at least one of each kind, so
// every state appears even at test scale, the kinds that hold a person
// scaled to the holders, the people free to. Shuffled within each era.
func planKinds(rng *rand.Rand, n, consent, approve, holders int) []kind {
	rest := n - consent - approve
	var eras [3][]kind
	add := func(k kind, count int) {
		for range count {
			eras[k.era()] = append(eras[k.era()], k)
		}
	}
	add(kAwaitingConsent, consent)
	add(kAwaitingSignoff, approve)
	// A request that holds its person takes one of its own (one person,
	// one place): when the mix asks for more than the people who can hold
	// one, each such kind is scaled down alike, the rest being past terms.
	// Nine in ten at most, as the renewals still running take some too.
	heldPct := 0.0
	for _, h := range history {
		if h.k.holds() {
			heldPct += h.pct
		}
	}
	scale := min(1, 0.9*float64(holders)/(heldPct*float64(rest)/100))
	used := 0
	for _, h := range history[1:] {
		count := max(1, int(h.pct*float64(rest)/100))
		if h.k.holds() {
			count = max(1, int(float64(count)*scale))
		}
		if h.k == kRenewedPair {
			count = max(1, count/2)
			used += count
		}
		add(h.k, count)
		used += count
	}
	add(kReturned, max(1, rest-used)) // the remainder, about 36 %
	var out []kind
	for _, e := range eras {
		rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
		out = append(out, e...)
	}
	return out
}
