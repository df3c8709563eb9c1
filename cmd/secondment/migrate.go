package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"secondment/internal/config"
	"secondment/internal/postgres"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set := newSet("migrate", "secondment migrate up | down N --yes | version | force V [flags]", config.Options{}, getenv, stdout)
	yes := set.Bool("yes", false, "confirm `migrate down`, which drops tables and their data")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &usageError{"migrate needs an action: up, down N, version or force V"}
	}
	action, pos := pos[0], pos[1:]
	var n int
	switch action {
	case "up", "version":
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("migrate %s takes no further arguments", action)}
		}
	case "down", "force":
		if len(pos) != 1 {
			return &usageError{fmt.Sprintf("migrate %s needs one number", action)}
		}
		if n, err = strconv.Atoi(pos[0]); err != nil || n < 0 || (action == "down" && n == 0) {
			return &usageError{fmt.Sprintf("migrate %s: %q is not a valid number", action, pos[0])}
		}
		if action == "down" && !*yes {
			return &usageError{fmt.Sprintf("migrate down %d reverts %d migration(s) and drops their tables and data; add --yes to confirm", n, n)}
		}
	default:
		return &usageError{fmt.Sprintf("unknown migrate action %q: want up, down N, version or force V", action)}
	}

	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := postgres.NewMigrator(db.store.Pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch action {
	case "up":
		if err = m.Up(); err == nil {
			err = db.migrate(ctx)
		}
	case "down":
		err = m.Down(n)
	case "force":
		err = m.Force(n)
	}
	if err != nil {
		return err
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	name := "none"
	if st.Current > 0 {
		name = postgres.MigrationName(st.Current)
	}
	fmt.Fprintf(stdout, "schema version: %s (dirty: %t; this binary's latest: %s)\n", name, st.Dirty, postgres.MigrationName(st.Latest))
	return nil
}
