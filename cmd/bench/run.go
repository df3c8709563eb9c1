package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"secondment/internal/province"
)

// runOptions shape the measured part of a run.
type runOptions struct {
	Clients, Pairs   int
	Warmup, Duration time.Duration
	Password         string // of every account, for the sign-ins
	SignIns          int    // concurrent sign-ins per burst
	Seed             uint64
	Log              io.Writer
	Profile          *profiler // nil: none
}

// phaseResult is one measured phase.
type phaseResult struct {
	pair   int
	name   string // baseline, consent or approve
	w      window
	bursts []burst
}

// results is a whole run: the phases in order and the requests moved.
type results struct {
	phases                   []phaseResult
	consentDone, approveDone []int64
}

// runSteps alternates, per pair, baseline, consent, baseline, approve, so
// each service phase has a baseline measured right before it under the
// same conditions (the machine is shared; numbers drift).
func runSteps(ctx context.Context, dbURL, base string, fx *province.Fixture, o runOptions) (*results, error) {
	rng := rand.New(rand.NewPCG(o.Seed, 0x5e9))
	for _, items := range [][]province.Work{fx.Consent, fx.Approve} {
		// Spread consecutive steps over lending units and org depts.
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	}
	perAction := (o.Pairs + 1) * int(2000*(o.Warmup+o.Duration).Seconds()) // +1: the consent phase with sign-ins
	if len(fx.Consent) < perAction || len(fx.Approve) < perAction {
		fmt.Fprintf(o.Log, "note: %d requests wait for consent and %d for sign-off; a service doing 2000 steps/s "+
			"would need %d: a phase that runs out ends early and says so\n", len(fx.Consent), len(fx.Approve), perAction)
	}
	b, err := newBaseline(ctx, dbURL, o.Clients)
	if err != nil {
		return nil, err
	}
	defer b.close()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 2 * o.Clients, MaxIdleConnsPerHost: 2 * o.Clients, IdleConnTimeout: time.Minute, DisableCompression: true}}
	defer client.CloseIdleConnections()
	consent := newAction("consent", `{"opinion":"同意借调"}`, base, client, fx.Consent)
	approve := newAction("approve", `{"opinion":"同意"}`, base, client, fx.Approve)
	signin := newSignIn(base, fx.Logins, o.Password, o.SignIns)

	res := &results{}
	for pair := 1; pair <= o.Pairs; pair++ {
		for _, a := range []*action{nil, consent, nil, approve} {
			r := phaseResult{pair: pair, name: "baseline"}
			if a == nil {
				r.w, err = measure(ctx, time.Now(), o.Clients, o.Warmup, o.Duration, b.step)
			} else {
				r.name = a.name
				r.w, r.bursts, err = servicePhase(ctx, a, nil, o)
			}
			if err != nil {
				return nil, fmt.Errorf("pair %d, %s: %w", pair, r.name, err)
			}
			fmt.Fprintln(o.Log, r.line())
			if a != nil && r.w.failed > 0 { // under 1 %: the run goes on, but they are shown
				fmt.Fprintf(o.Log, "  first failures of %s:\n  %s\n", a.name, strings.Join(a.failures(), "\n  "))
			}
			res.phases = append(res.phases, r)
		}
	}
	if o.SignIns > 0 {
		// Sign-ins are measured apart from the ratios: argon2id spends a
		// quarter of a second of CPU on each, which is the sign-in's cost,
		// not the step's. The server's memory is sampled through the whole
		// run, this phase included.
		r := phaseResult{pair: o.Pairs + 1, name: "consent+sign-ins"}
		if r.w, r.bursts, err = servicePhase(ctx, consent, signin, o); err != nil {
			return nil, fmt.Errorf("consent with sign-ins: %w", err)
		}
		fmt.Fprintln(o.Log, r.line())
		res.phases = append(res.phases, r)
	}
	res.consentDone, res.approveDone = consent.done, approve.done
	return res, nil
}

// servicePhase measures one action; with s, also a burst of sign-ins when
// the window opens and another half-way: argon2id takes 64 MiB per hash,
// and the server's memory must stay bounded while it works.
func servicePhase(ctx context.Context, a *action, s *signIn, o runOptions) (window, []burst, error) {
	start := time.Now()
	bursts := make([]burst, 2)
	ended := make(chan struct{}) // a phase cut short starts no further burst
	var wg sync.WaitGroup
	profiled := make(chan func(), 1)
	wg.Go(func() {
		if o.Profile == nil || !sleepUntil(ctx, ended, start.Add(o.Warmup)) {
			profiled <- func() {}
			return
		}
		name := a.name
		if s != nil && o.SignIns > 0 {
			name += "+sign-ins"
		}
		profiled <- o.Profile.start(ctx, name+"-"+start.Format("150405"), o.Duration)
	})
	wg.Go(func() {
		for i, at := range []time.Duration{o.Warmup, o.Warmup + o.Duration/2} {
			if s == nil || o.SignIns == 0 || !sleepUntil(ctx, ended, start.Add(at)) {
				return
			}
			bursts[i] = s.burst(ctx)
		}
	})
	w, err := measure(ctx, start, o.Clients, o.Warmup, o.Duration, a.step)
	close(ended)
	wg.Wait()
	(<-profiled)()
	if err != nil {
		return w, bursts, err
	}
	if err := a.checkFailures(w); err != nil {
		return w, bursts, err
	}
	for _, b := range bursts {
		if b.failed > 0 {
			return w, bursts, fmt.Errorf("%d of %d sign-ins failed: %s", b.failed, len(b.took)+b.failed, b.firstErr)
		}
	}
	return w, bursts, nil
}

// sleepUntil waits for t and reports whether it came before ctx or stop ended.
func sleepUntil(ctx context.Context, stop <-chan struct{}, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}

// signIn signs accounts in through the form, as a browser would.
type signIn struct {
	base     string
	logins   []string
	password string
	n        int
	client   *http.Client
}

func newSignIn(base string, logins []string, password string, n int) *signIn {
	return &signIn{base: base, logins: logins, password: password, n: n, client: &http.Client{
		Timeout:       time.Minute,
		Transport:     &http.Transport{MaxIdleConnsPerHost: n},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// burst is one round of concurrent sign-ins: how long each took.
type burst struct {
	took     []time.Duration // of the successful ones, sorted
	failed   int
	firstErr string
}

func (s *signIn) burst(ctx context.Context) burst {
	var b burst
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range s.n {
		wg.Go(func() {
			t0 := time.Now()
			err := s.one(ctx, s.logins[i%len(s.logins)])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if b.failed++; b.firstErr == "" {
					b.firstErr = err.Error()
				}
				return
			}
			b.took = append(b.took, time.Since(t0))
		})
	}
	wg.Wait()
	slices.Sort(b.took)
	return b
}

// one signs in once; success is the redirect to the home page (303).
func (s *signIn) one(ctx context.Context, login string) error {
	form := url.Values{"login": {login}, "password": {s.password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/signin", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sign in %s: %w", login, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("sign in %s: %s %s", login, resp.Status, body)
	}
	return nil
}

// verify checks in the database that every request the service said it
// moved did move: consented ones wait for sign-off, approved ones are
// approved.
func verify(ctx context.Context, pool *pgxpool.Pool, r *results) (string, error) {
	var lines []string
	for _, c := range []struct {
		ids   []int64
		state string
		what  string
	}{{r.consentDone, "awaiting_signoff", "consented"}, {r.approveDone, "approved", "approved"}} {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM secondment WHERE id = ANY ($1) AND state = $2`, c.ids, c.state).Scan(&n)
		if err != nil {
			return "", fmt.Errorf("check %s requests: %w", c.what, err)
		}
		if n != len(c.ids) {
			return "", fmt.Errorf("the service answered 200 for %d %s requests but %d of them are %s", len(c.ids), c.what, n, c.state)
		}
		lines = append(lines, fmt.Sprintf("%d %s requests are %s", n, c.what, c.state))
	}
	return "checked in the database: " + strings.Join(lines, "; "), nil
}
