package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"secondment/internal/config"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// errChainBroken makes `audit verify` exit 1 when the chain is broken.
var errChainBroken = errors.New("the audit chain is broken")

// runAudit verifies the audit chain, or purges events past their retention.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("audit", "secondment audit verify [--expect SEQ:HASH]... | purge --before YYYY-MM-DD --yes [flags]",
		config.Options{}, getenv, stdout)
	var expect []postgres.ChainPoint
	set.Func("expect", "a head noted earlier (SEQ:HASH, as verify prints it) that must still be in the chain; repeatable",
		func(s string) error {
			p, err := postgres.ParseChainPoint(s)
			if err == nil {
				expect = append(expect, p)
			}
			return err
		})
	beforeFlag := set.String("before", "", "purge: delete events recorded before this day")
	keep := set.Int("keep-months", envInt(getenv, "SECONDMENT_AUDIT_KEEP_MONTHS", postgres.MinAuditKeepMonths),
		fmt.Sprintf("purge: never delete events recorded within this many months (at least %d; env SECONDMENT_AUDIT_KEEP_MONTHS)", postgres.MinAuditKeepMonths))
	yes := set.Bool("yes", false, "confirm `audit purge`, which deletes events for good")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "verify" && pos[0] != "purge") {
		return &usageError{"audit needs an action: verify or purge"}
	}
	var before time.Time
	if pos[0] == "purge" {
		d, err := secondment.ParseDate(*beforeFlag)
		if err != nil {
			return &usageError{fmt.Sprintf("audit purge needs --before YYYY-MM-DD, got %q", *beforeFlag)}
		}
		if *keep < postgres.MinAuditKeepMonths {
			return &usageError{fmt.Sprintf("--keep-months %d: the audit trail is kept at least %d months (网络安全法 art. 21)", *keep, postgres.MinAuditKeepMonths)}
		}
		if !*yes {
			return &usageError{fmt.Sprintf("audit purge deletes every event recorded before %s for good; add --yes to confirm", d)}
		}
		before = d.Start()
	}
	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if pos[0] == "purge" {
		p, err := db.store.AuditPurge(ctx, before, time.Now(), *keep, "command line")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "purged %d audit events (links through %d); the chain now starts after %d:%x\n",
			p.Events, p.ThroughSeq, p.ThroughSeq, p.Anchor)
		return nil
	}
	r, err := db.store.AuditVerify(ctx, time.Now, "command line", expect...)
	if err != nil {
		return err
	}
	if err := db.store.AuditRecordVerification(ctx, &r); err != nil {
		return err
	}
	if !r.OK {
		fmt.Fprintf(stdout, "BROKEN at link %d: %s (%d links checked before it)\n", r.BrokenSeq, chainProblem[r.Problem], r.Checked)
		return errChainBroken
	}
	fmt.Fprintf(stdout, "audit chain intact: %d links checked", r.Checked)
	if r.AnchorSeq > 0 {
		fmt.Fprintf(stdout, " after the purge anchor at %d", r.AnchorSeq)
	}
	fmt.Fprintln(stdout, "\nheads of the chain's lanes (note them down outside this system; --expect checks each later):")
	for _, h := range r.Heads {
		fmt.Fprintf(stdout, "head: %d:%x\n", h.Seq, h.Hash)
	}
	return nil
}

// chainProblem explains a postgres.Chain* code on the command line.
var chainProblem = map[string]string{
	postgres.ChainHash:     "the event does not match its hash (edited)",
	postgres.ChainGap:      "the link is missing (deleted with its event)",
	postgres.ChainMissing:  "the link's event was deleted",
	postgres.ChainUnlinked: "this event ID was written without a link (behind the trigger's back)",
	postgres.ChainHead:     "the newest link does not match the recorded head",
	postgres.ChainExpected: "a head noted earlier is no longer in the chain (rewritten)",
}

// envInt reads an integer setting from the environment, def when unset or
// not a number (the flag's own check then reports a bad value).
func envInt(getenv func(string) string, name string, def int) int {
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(getenv(name)), &n); err != nil {
		return def
	}
	return n
}
