package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"secondment/internal/config"
)

// parse reads flags and positional arguments in any order (Go's flag
// package stops at the first positional one, but people type
// "migrate down 1 --yes").
func parse(set *config.Set, args []string) (config.Config, []string, error) {
	var positional []string
	rest := args
	var cfg config.Config
	for {
		var err error
		cfg, err = set.Parse(rest)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return cfg, nil, err
			}
			var ce *config.Error
			if errors.As(err, &ce) {
				return cfg, nil, err
			}
			return cfg, nil, &usageError{err.Error()}
		}
		if set.NArg() == 0 {
			return cfg, positional, nil
		}
		positional = append(positional, set.Arg(0))
		rest = set.Args()[1:]
	}
}

// newSet makes a subcommand's flag set with its usage text. Flag errors are
// reported once, by exitCode, so the flag package's own output goes to
// stdout only for --help.
func newSet(name, synopsis string, o config.Options, getenv func(string) string, stdout io.Writer) *config.Set {
	set := config.NewSet(name, o, getenv, io.Discard)
	set.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n", synopsis)
		set.SetOutput(stdout)
		set.PrintDefaults()
		set.SetOutput(io.Discard)
	}
	return set
}
