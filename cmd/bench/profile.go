package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// profiler records, for every service phase of a run with -profile DIR,
// what the time went on: a CPU profile of the server (from its
// --debug-addr listener) over the measured window, and PostgreSQL's own
// account of the statements run in it (pg_stat_statements), top first.
type profiler struct {
	dir   string
	debug string // the server's profile listener, http://host:port
	pool  *pgxpool.Pool
	log   io.Writer
}

// start begins profiling phase name; the returned func ends it and writes
// the files.
func (p *profiler) start(ctx context.Context, name string, d time.Duration) func() {
	if p == nil {
		return func() {}
	}
	if _, err := p.pool.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		fmt.Fprintln(p.log, "profile: reset pg_stat_statements:", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.debug, int(d.Seconds()))
		resp, err := http.Get(url)
		if err != nil {
			fmt.Fprintln(p.log, "profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(p.dir, name+".cpu.pprof"))
		if err != nil {
			fmt.Fprintln(p.log, "profile:", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return func() {
		<-done
		p.statements(ctx, name)
	}
}

// statements writes the phase's statements by total time, and prints how
// many statements a step took and the top few.
func (p *profiler) statements(ctx context.Context, name string) {
	rows, err := p.pool.Query(ctx, `
		SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3),
		       regexp_replace(left(query, 160), '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 15`)
	if err != nil {
		fmt.Fprintln(p.log, "profile: read pg_stat_statements:", err)
		return
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-11s %-9s %s\n", "calls", "total ms", "mean ms", "statement")
	for rows.Next() {
		var calls int64
		var total, mean float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &q); err != nil {
			fmt.Fprintln(p.log, "profile:", err)
			return
		}
		fmt.Fprintf(&b, "%-9d %-11.1f %-9.3f %s\n", calls, total, mean, q)
	}
	path := filepath.Join(p.dir, name+".statements.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(p.log, "profile:", err)
		return
	}
	fmt.Fprintf(p.log, "  profile of %s: %s and %s\n", name, filepath.Join(p.dir, name+".cpu.pprof"), path)
}
