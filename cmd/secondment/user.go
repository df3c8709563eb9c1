package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"secondment/internal/auth"
	"secondment/internal/config"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// runUser creates an account from the command line: how the first system
// administrator comes to exist, since the service has no default account.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	set := newSet("user", "secondment user add --login L --name N --unit CODE --role R [--role R …] [--password-stdin]",
		config.Options{}, getenv, stdout)
	login := set.String("login", "", "sign-in name (3–64 lower-case letters, digits, . _ -)")
	name := set.String("name", "", "the person's name")
	unitCode := set.String("unit", "", "code of the unit the account belongs to")
	var roles []auth.Role
	set.Func("role", "a role: borrower, lender, orgdept, registrar, sysadmin, secadmin or auditor (repeatable)", func(v string) error {
		roles = append(roles, auth.Role(v))
		return nil
	})
	fromStdin := set.Bool("password-stdin", false, "read the password from the first line of standard input instead of printing a one-time password")
	cfg, pos, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "add" {
		return &usageError{"user needs an action: user add"}
	}
	if *login == "" || *name == "" || *unitCode == "" {
		return &usageError{"user add needs --login, --name and --unit"}
	}
	if err := auth.ValidateRoles(roles); err != nil {
		return &usageError{"user add: give one or more valid --role; an administrator role (sysadmin, secadmin, auditor) is held alone"}
	}

	db, err := openDatabase(ctx, cfg, cfg.Logger(stderr), false, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	unit, err := db.store.UnitGetByCode(ctx, *unitCode)
	if err != nil {
		return fmt.Errorf("unit %s: %w", *unitCode, err)
	}
	password, oneTime := "", true
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password, oneTime = strings.TrimRight(line, "\r\n"), false
		set, err := db.store.SecuritySettings(ctx)
		if err != nil {
			return err
		}
		if err := set.Password.Check(password, auth.PasswordContext{Login: *login, Name: *name, UnitName: unit.Name}); err != nil {
			return describe(err)
		}
	} else {
		password = auth.GeneratePassword()
	}
	hash, err := auth.DefaultHasher.Hash(password)
	if err != nil {
		return err
	}
	_, err = db.store.UserCreate(ctx, postgres.Actor{Name: "command line"}, postgres.NewUser{Login: *login, Name: *name,
		UnitID: unit.ID, Roles: roles, PasswordHash: hash, MustChangePassword: oneTime}, time.Now())
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "account %s created\n", *login)
	if oneTime {
		fmt.Fprintf(stdout, "one-time password (shown once; it must be changed at the first sign-in): %s\n", password)
	}
	return nil
}

// describe turns a domain error into a line for the terminal, naming the
// fields at fault by their message IDs' English text.
func describe(err error) error {
	var de *secondment.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	var parts []string
	for _, f := range de.Fields {
		parts = append(parts, f.Field+": "+english.Message(f.Message))
	}
	return errors.New(strings.Join(parts, "; "))
}
