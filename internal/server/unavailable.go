package server

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"secondment/internal/secondment"
)

// While the database is unreachable (stopped, restarting, frozen) every
// page and API call answers 503 with Retry-After, in the user's language on
// pages, never a 500 and never a hang: each request has a deadline
// (Deps.RequestTimeout), and the pool dials anew once the database is back
// (issue #13).

// DefaultRequestTimeout bounds a request's work: a frozen database must not
// hold a clerk's page forever. An import of 10,000 rows takes about ten
// seconds at a province's scale. It stays well below the HTTP server's
// WriteTimeout, so that the 503 is still written when it passes.
const DefaultRequestTimeout = 25 * time.Second

// retryUnavailable is what a 503 asks the caller to wait.
const retryUnavailable = 5 * time.Second

// dbUnavailable reports whether err says the database could not be reached
// or went away mid-request, rather than refusing what was asked: a failed
// dial, a connection exception (class 08) or a shutdown (57P01–57P03), a
// connection pgx found closed, or the request's own deadline passing while
// it waited on the database (deadlinePassed). Anything else stays a 500,
// logged as the bug it may be.
func dbUnavailable(err error, deadlinePassed bool) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &oe):
		return true
	case deadlinePassed && (errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)):
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}

// unavailable is err as the 503 a caller is shown.
func unavailable(err error) error {
	return &secondment.Error{Code: secondment.EUnavailable, Message: secondment.Msg("error.db_unavailable"),
		RetryAfter: retryUnavailable, Err: err}
}
