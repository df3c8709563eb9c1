package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"secondment/internal/auth"
	"secondment/internal/config"
	"secondment/internal/demo"
	"secondment/internal/postgres"
	"secondment/internal/province"
	"secondment/internal/secondment"
)

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("seed", "secondment seed demo [--scale N] [flags]", config.Options{}, getenv, stdout)
	scale := set.Int("scale", 0, "also load, first and into an empty database, a synthetic province with N×100,000 secondments "+
		"and their decisions, audit events and notifications, for benchmarks (its accounts share the demo password)")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "demo" {
		return &usageError{"seed needs the data set to load: seed demo"}
	}
	if cfg.Mode == config.ModeProduction {
		return errors.New("seed demo: demo data and accounts are refused in production mode")
	}
	if *scale < 0 || *scale > 100 {
		return &usageError{fmt.Sprintf("--scale %d: want 0 to 100 (hundreds of thousands of secondments)", *scale)}
	}
	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	return loadDemo(ctx, db.store, auth.DefaultHasher, secondment.SystemClock{}, *scale, stdout)
}

// loadDemo loads the demo data and (re)sets the demo accounts to one fresh
// password, and prints them: the only place a password is ever printed,
// and only in dev mode.
func loadDemo(ctx context.Context, store *postgres.Store, h auth.Hasher, clock secondment.Clock, scale int, stdout io.Writer) error {
	password := auth.GeneratePassword()
	if scale > 0 {
		// The province goes first: it is written with COPY into an empty
		// database, with its own IDs.
		hash, err := h.Hash(password)
		if err != nil {
			return err
		}
		if _, err := province.Load(ctx, store, province.Options{N: scale * 100_000, Consent: scale * 1000, Approve: scale * 1000,
			PasswordHash: hash, Now: clock.Now(), Seed: 1, Log: stdout}); err != nil {
			return fmt.Errorf("seed demo --scale %d: %w", scale, err)
		}
		if err := province.History(ctx, store, stdout); err != nil {
			return fmt.Errorf("seed demo --scale %d: %w", scale, err)
		}
		fmt.Fprintf(stdout, "province accounts: unit code and role, e.g. %s.orgdept, with the demo accounts' password below\n",
			strings.ToLower(province.RootCode)+"-zzb")
	}
	res, err := demo.Load(ctx, store)
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "demo data: units %d added, %d updated, %d unchanged; people %d added, %d updated, %d unchanged; policy versions %d added\n",
		res.UnitsAdded, res.UnitsUpdated, res.UnitsUnchanged, res.PeopleAdded, res.PeopleUpdated, res.PeopleUnchanged, res.PoliciesAdded)
	accounts, err := demo.LoadUsers(ctx, store, h, password, clock.Now())
	if err != nil {
		return fmt.Errorf("load demo accounts: %w", err)
	}
	stories, err := demo.LoadStories(ctx, store, clock.Now())
	if err != nil {
		return fmt.Errorf("load demo stories: %w", err)
	}
	if stories.Skipped {
		fmt.Fprintln(stdout, "demo stories: requests are stored already; none added")
	} else {
		fmt.Fprintf(stdout, "demo stories: %d requests through the chain, %d existing secondments registered, dated from today\n",
			stories.Requests, stories.Registered)
	}
	fmt.Fprintf(stdout, "demo accounts (dev mode; every one has the password %s):\n", password)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, a := range accounts {
		var roles []string
		for _, r := range a.Roles {
			roles = append(roles, string(r))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Login, strings.Join(roles, ","), a.Name)
	}
	return tw.Flush()
}
