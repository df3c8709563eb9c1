package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// buildService compiles the service binary under test from this module.
func buildService(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "secondment")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/secondment")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/secondment: %w\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the benchmark inside the module (go run ./cmd/bench step)")
	}
	return filepath.Dir(gomod), nil
}

// migrateUp lets the binary under test apply its own migrations, so the
// schema is exactly the one it expects, however many migrations it has.
func migrateUp(ctx context.Context, bin, url string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "migrate", "up", "--database-url", url, "--log-level", "warn").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("secondment migrate up: %w\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// service is the server under test, running as a child process.
type service struct {
	cmd    *exec.Cmd
	base   string
	log    string
	exited chan struct{}
	rssKB  atomic.Int64 // highest VmRSS sampled
}

// startService runs `secondment serve` on a free loopback port with the
// background jobs off (a sweep would compete with the steps measured) and
// waits until /readyz answers 200.
func startService(ctx context.Context, bin, url, logPath string, env []string) (*service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "serve", "--database-url", url, "--migrate=false", "--jobs=false",
		"--addr", addr, "--mode", "dev", "--log-level", "warn")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Never outlive the benchmark, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	s := &service{cmd: cmd, base: "http://" + addr, log: logPath, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *service) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited at start; its log %s says:\n%s", s.log, tailFile(s.log, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server was not ready within %s; its log %s says:\n%s", timeout, s.log, tailFile(s.log, 20))
		}
	}
}

// sample records the server's resident memory every 100 ms until stop is
// closed, keeping the highest value seen.
func (s *service) sample(stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := procStatus(s.cmd.Process.Pid); err == nil && st["VmRSS"] > s.rssKB.Load() {
			s.rssKB.Store(st["VmRSS"])
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		case <-s.exited:
			return
		}
	}
}

// memory reads the kernel's high-water mark, which also catches a peak
// between two samples. Call it before stop.
func (s *service) memory() memory {
	m := memory{peakKB: s.rssKB.Load()}
	if st, err := procStatus(s.cmd.Process.Pid); err == nil {
		m.hwmKB = st["VmHWM"]
	}
	return m
}

// procStatus reads the kB fields of /proc/PID/status.
func procStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if v, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// stop asks the server to shut down gracefully, then kills it.
func (s *service) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
