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
	"secondment/internal/jobs"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("seed", "secondment seed demo [flags]", config.Options{}, getenv, stdout)
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
	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db.store.Pool); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, db.store.Pool); err != nil {
		return err
	}
	return loadDemo(ctx, db.store, auth.DefaultHasher, secondment.SystemClock{}, stdout)
}

// loadDemo loads the demo data and (re)sets the demo accounts to one fresh
// password, and prints them: the only place a password is ever printed,
// and only in dev mode.
func loadDemo(ctx context.Context, store *postgres.Store, h auth.Hasher, clock secondment.Clock, stdout io.Writer) error {
	res, err := demo.Load(ctx, store)
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "demo data: units %d added, %d updated, %d unchanged; people %d added, %d updated, %d unchanged; policy versions %d added\n",
		res.UnitsAdded, res.UnitsUpdated, res.UnitsUnchanged, res.PeopleAdded, res.PeopleUpdated, res.PeopleUnchanged, res.PoliciesAdded)
	password := auth.GeneratePassword()
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
