// Command secondment is the secondment (借调) approval service: one binary
// with the subcommands serve (the default), migrate, seed, user, sweep,
// audit, backup, restore, doctor and version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"secondment/internal/i18n"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `secondment — 借调审批管理系统 / secondment approval service

Usage:
  secondment [serve] [flags]              run the web service (the default command)
  secondment migrate up|down N|version|force V [flags]
                                          manage the database schema
  secondment seed demo [flags]            load the demo units, people, policies and accounts (safe to repeat)
  secondment user add --login L --name N --unit CODE --role R [--password-stdin]
                                          create an account (the first system administrator)
  secondment sweep [--day D]              run the periodic sweep once (expiry, overdue, reminders)
  secondment audit verify [--expect SEQ:HASH]
                                          check the audit trail's hash chain (exit 1 if broken)
  secondment audit purge --before D --yes delete audit events past their retention (at least 6 months)
  secondment backup --out FILE [--force]  dump the database (pg_dump's custom format) into FILE
  secondment restore --in FILE [--yes]    load a backup as the schema's owner and grant the service's login again;
                                          a database with tables is replaced only with --yes
  secondment doctor                       check a deployment: database, schema, jobs, clock, outbox, disk
                                          (one line each: OK, WARN or FAIL; exit 1 on a FAIL)
  secondment version                      print the version
  secondment help [command]               show help

With no database URL the service runs its own PostgreSQL in --data-dir
(default ./data) from the PostgreSQL server binaries installed here.
Run "secondment COMMAND --help" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "secondment:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, `run "secondment help" for usage`)
		return 2
	}
	return 1
}

// run is main without the process: it takes its arguments, environment and
// outputs, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, getenv, stdout, stderr)
	case "user":
		return runUser(ctx, args, getenv, stdin, stdout, stderr)
	case "sweep":
		return runSweep(ctx, args, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args, getenv, stdout, stderr)
	case "version":
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
			return &usageError{"version takes no arguments"}
		}
		fmt.Fprintln(stdout, "secondment", version)
		return nil
	case "help", "-h", "--help":
		if len(args) > 0 {
			return run(ctx, []string{args[0], "--help"}, getenv, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// english renders domain messages for the command line, whose output is
// English like the JSON API.
var english = i18n.MustLoad().Localizer(i18n.English)
