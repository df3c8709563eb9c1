package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"secondment/internal/i18n"
	"secondment/internal/server"
)

// Large bodies are read a few at a time: ten clients sending a 1.2 MB body
// slowly, all at once, never have more than the slots' number in the
// handlers together (without the bound all ten were: 20 parallel 19.6 MB
// posts took the service to 1 GB); each is answered in turn.
func TestLargeBodiesTakeTurns(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	srv := server.New(server.Deps{Store: s.store, Catalog: i18n.MustLoad(), Clock: s.clock, Hasher: cheap, Version: "test", UploadSlots: 2})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tok := apiCaller{t, s}.token("nmg-bt-qs-rd.borrower")
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for range 10 {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				// A JSON body of unknown length (chunked), sent slowly.
				fmt.Fprint(pw, `{"task": "`)
				chunk := strings.Repeat("a", 100<<10)
				for range 12 {
					time.Sleep(15 * time.Millisecond)
					fmt.Fprint(pw, chunk)
				}
				fmt.Fprint(pw, `"}`)
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", ts.URL+"/api/v1/secondments", pr)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusUnprocessableEntity {
			t.Errorf("a large body answered %d; want 422 (the task is too long)", c)
		}
	}
	if p := srv.UploadPeak(); p < 1 || p > 2 {
		t.Fatalf("%d large bodies read at once; want at most the 2 slots", p)
	}
}
