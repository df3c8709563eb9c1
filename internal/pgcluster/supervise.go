package pgcluster

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Backoff paces the restarts of a server that died: the first attempt
// comes Initial after the death, each failed attempt doubles the wait up
// to Max, and a server that had stayed up for Reset before it died is
// restarted after Initial again. Zero fields take the defaults 0.5 s, 30 s
// and 1 min.
type Backoff struct {
	Initial, Max, Reset time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	b.Max = max(b.Max, b.Initial)
	if b.Reset <= 0 {
		b.Reset = time.Minute
	}
	return b
}

// supervise watches the server p and starts it again whenever it ends
// without Stop: killed, crashed, or stopped by hand with pg_ctl (to stop
// the embedded server, stop the service). The socket and URL stay the same,
// so a connection pool dials the new server by itself.
//
// It never gives up: a server that cannot start (a full disk, a damaged
// data directory, a server started by hand in its place) is tried again
// every Backoff.Max, each failure logged with the end of postgres.log,
// while the service answers 503. A start failure needs a person, and the
// service is the one place that keeps saying so; exiting instead would
// only hand the same loop to systemd, with the pages down. It returns when
// Stop is called.
func (c *Cluster) supervise(p *process) {
	defer close(c.supervised)
	wait := c.backoff.Initial
	for {
		select {
		case <-c.life.Done():
			return
		case <-p.exited:
		}
		if c.life.Err() != nil {
			return // it ended because Stop stopped it
		}
		died := time.Now()
		up := died.Sub(p.started)
		if up >= c.backoff.Reset {
			wait = c.backoff.Initial
		}
		c.log.Error("embedded PostgreSQL exited unexpectedly; restarting it",
			"status", exitStatus(p.err), "pid", p.cmd.Process.Pid, "up", up.Round(time.Millisecond),
			"restart_in", wait, "log", c.logPath(), "last_log_line", c.logTail(1))
		for attempt := 1; ; attempt++ {
			select {
			case <-c.life.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, c.backoff.Max)
			np, err := c.restart()
			if c.life.Err() != nil {
				return
			}
			if err == nil {
				p = np
				c.restarts.Add(1)
				c.log.Info("embedded PostgreSQL restarted", "pid", p.cmd.Process.Pid, "attempt", attempt,
					"down", time.Since(died).Round(time.Millisecond))
				break
			}
			c.log.Error("embedded PostgreSQL could not be restarted; trying again",
				"attempt", attempt, "err", err, "retry_in", wait, "log", c.logPath())
		}
	}
}

// restart clears stale lock files and starts the server again. It waits as
// long as the new server takes to accept connections (crash recovery may
// be long), unless the server ends or Stop is called.
func (c *Cluster) restart() (*process, error) {
	if err := c.clearStaleLocks(c.life, time.Now().Add(c.startTimeout)); err != nil {
		return nil, err
	}
	p, err := c.start()
	if err != nil {
		return nil, err
	}
	err = c.waitReady(c.life, p, c.startTimeout)
	if errors.Is(err, errNotReady) {
		// Alive, so recovering: killing it would only start that over.
		c.log.Warn("the restarted embedded PostgreSQL does not accept connections yet; waiting",
			"pid", p.cmd.Process.Pid, "err", err, "log", c.logPath())
		err = c.waitReady(c.life, p, math.MaxInt64)
	}
	if errors.Is(err, errExitedEarly) {
		return nil, fmt.Errorf("it exited during start (%s); postgres.log ends:\n%s", exitStatus(p.err), c.logTail(3))
	}
	return p, err
}

// errExitedEarly is a server that ended before it accepted connections.
var errExitedEarly = errors.New("exited during start")
