package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"secondment/internal/config"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// runSweep runs one sweep now, for cron-style operation and for catching
// up a given day by hand. The running service sweeps by itself.
func runSweep(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("sweep", "secondment sweep [--day YYYY-MM-DD] [flags]", config.Options{}, getenv, stdout)
	dayFlag := set.String("day", "", "the day to sweep for (default: today in Asia/Shanghai)")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("sweep takes no arguments, got %q", pos[0])}
	}
	// The sweep runs as of its day throughout: "now" is that day at the
	// real time of day, so every step it takes is dated on it.
	real := time.Now()
	now := real
	if *dayFlag != "" {
		day, err := secondment.ParseDate(*dayFlag)
		if err != nil {
			return &usageError{fmt.Sprintf("--day %q: want YYYY-MM-DD", *dayFlag)}
		}
		if cfg.Mode == config.ModeProduction && day.After(secondment.DateOf(real)) {
			return fmt.Errorf("sweep --day %s: a day after today is a rehearsal, refused in production mode", day)
		}
		now = secondment.OnDay(day, real)
	}
	day := secondment.DateOf(now)
	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	// Sweeping a day before one already swept would date steps before
	// steps already taken: refused rather than half done.
	if last, err := db.store.LastSweepDay(ctx); err != nil {
		return err
	} else if day.Before(last) {
		return fmt.Errorf("sweep --day %s: the sweep already ran for %s; a sweep cannot go back in time", day, last)
	}
	res, err := db.store.Sweep(ctx, day, now, postgres.SweepOptions{Origin: "command line"})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep %s: %d renewed, %d expired, %d overdue, %d reminders\n",
		day, res.Renewed, res.Expired, res.Overdue, res.Reminders)
	return nil
}
