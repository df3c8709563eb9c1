package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The targets the project set for a step (issue: performance).
const (
	targetRatio = 0.40
	targetP99   = 50 * time.Millisecond
	targetRSSMB = 150.0
)

// line is a phase as printed while the run goes on.
func (r phaseResult) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pair %d %-8s %7.0f/s  p50 %6.1f ms  p99 %6.1f ms  %7d steps", r.pair, r.name, r.w.rate(),
		ms(r.w.percentile(0.50)), ms(r.w.percentile(0.99)), r.w.steps)
	if r.name != "baseline" {
		fmt.Fprintf(&b, "  %d failed", r.w.failed)
		for i, bu := range r.bursts {
			if len(bu.took) > 0 {
				fmt.Fprintf(&b, "  sign-ins #%d: %d in %.2f–%.2f s", i+1, len(bu.took),
					bu.took[0].Seconds(), bu.took[len(bu.took)-1].Seconds())
			}
		}
	}
	if r.w.exhausted {
		fmt.Fprintf(&b, "  (requests ran out after %.1f s)", r.w.elapsed.Seconds())
	}
	return b.String()
}

// actionSummary is an action over its pairs, each against the baseline
// measured just before it.
type actionSummary struct {
	name                      string
	service, baseline, ratios []float64
	worstP99                  time.Duration
}

func summarize(r *results, name string) actionSummary {
	s := actionSummary{name: name}
	var last float64 // the latest baseline rate
	for _, p := range r.phases {
		switch p.name {
		case "baseline":
			last = p.w.rate()
		case name:
			s.service = append(s.service, p.w.rate())
			s.baseline = append(s.baseline, last)
			ratio := 0.0
			if last > 0 {
				ratio = p.w.rate() / last
			}
			s.ratios = append(s.ratios, ratio)
			s.worstP99 = max(s.worstP99, p.w.percentile(0.99))
		}
	}
	return s
}

// stepLine is the one-line verdict, in the form the project tracks.
func (s actionSummary) stepLine(prefix string) string {
	return fmt.Sprintf("%s: service %.0f/s, baseline %.0f/s, ratio %.2f", prefix,
		median(s.service), median(s.baseline), median(s.ratios))
}

// memory is the server's resident memory over the run, in kB; zero when
// the server ran in this process (the test) and was not measured.
type memory struct{ peakKB, hwmKB int64 }

func (m memory) peakMB() float64 { return float64(max(m.peakKB, m.hwmKB)) / 1024 }

// report prints the summary. The very last line is the weaker action's
// verdict, so a miss is never hidden behind the better one.
func report(out io.Writer, r *results, mem memory, clients int, checked string) {
	fmt.Fprintln(out)
	fmt.Fprintln(out, checked)
	sums := []actionSummary{summarize(r, "consent"), summarize(r, "approve")}
	for _, s := range sums {
		fmt.Fprintf(out, "%s ratios per pair: %s → median %.2f\n", s.name, formatRatios(s.ratios), median(s.ratios))
	}
	if mem.peakKB > 0 || mem.hwmKB > 0 {
		fmt.Fprintf(out, "server peak RSS: %.1f MB (highest 100 ms sample %.1f MB, VmHWM %.1f MB)\n",
			mem.peakMB(), float64(mem.peakKB)/1024, float64(mem.hwmKB)/1024)
	}
	for _, s := range sums {
		fmt.Fprintln(out, s.stepLine("step "+s.name))
	}
	for _, s := range sums {
		fmt.Fprintf(out, "target %s ratio ≥ %.2f: %.2f %s\n", s.name, targetRatio, median(s.ratios), mark(median(s.ratios) >= targetRatio))
	}
	worst := max(sums[0].worstP99, sums[1].worstP99)
	fmt.Fprintf(out, "target p99 ≤ %d ms at %d clients: consent %.1f ms, approve %.1f ms (slowest phase) %s\n",
		targetP99.Milliseconds(), clients, ms(sums[0].worstP99), ms(sums[1].worstP99), mark(worst <= targetP99))
	if mem.peakMB() > 0 {
		fmt.Fprintf(out, "target server RSS ≤ %.0f MB: %.1f MB %s\n", targetRSSMB, mem.peakMB(), mark(mem.peakMB() <= targetRSSMB))
	} else {
		fmt.Fprintln(out, "target server RSS: not measured (server in this process)")
	}
	weaker := sums[0]
	if median(sums[1].ratios) < median(sums[0].ratios) {
		weaker = sums[1]
	}
	fmt.Fprintln(out, weaker.stepLine("step"))
}

func mark(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func formatRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, " ")
}

// median of xs; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
