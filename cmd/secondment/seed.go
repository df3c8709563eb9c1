package main

import (
	"context"
	"fmt"
	"io"

	"secondment/internal/config"
	"secondment/internal/demo"
	"secondment/internal/postgres"
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
	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db.store.Pool); err != nil {
		return err
	}
	res, err := demo.Load(ctx, db.store)
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "demo data: units %d added, %d updated, %d unchanged; people %d added, %d updated, %d unchanged\n",
		res.UnitsAdded, res.UnitsUpdated, res.UnitsUnchanged, res.PeopleAdded, res.PeopleUpdated, res.PeopleUnchanged)
	return nil
}
