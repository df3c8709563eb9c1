package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/auth"
)

// SignInOutcome says how a sign-in attempt ended. Only the server's log and
// the audit trail see the difference between the failures; the user is told
// the same thing for each, so the answer never reveals whether an account
// exists.
type SignInOutcome int

const (
	SignInOK          SignInOutcome = iota
	SignInFailed                    // unknown name, wrong password, disabled or locked
	SignInRateLimited               // too many failed attempts from this address
	SignInThrottled                 // too many failures of this login from this address: wait
)

// SignInResult is a sign-in's outcome, the account when it succeeded, and
// how long to wait when throttled.
type SignInResult struct {
	User    auth.User
	Outcome SignInOutcome
	Wait    time.Duration
	// Reason is why a SignInFailed attempt failed, as its audit event
	// records it (ReasonUnknown, …), for the server's metrics.
	Reason string
}

// The reasons of a failed sign-in, as audited.
const (
	ReasonUnknown  = "unknown account"
	ReasonDisabled = "disabled"
	ReasonLocked   = "locked"
	ReasonPassword = "wrong password"
)

// ThrottleDelay is the wait after failures failed attempts of one login
// from one address (issue #13): none below the threshold, then one second
// doubling with each further failure, up to set.LockoutDuration. An
// attacker gets a handful of guesses and then a few more an hour; a
// colleague at another address is never slowed, and one behind the same
// address waits at most LockoutDuration, never a lock only an
// administrator lifts.
func ThrottleDelay(failures int, set auth.Settings) time.Duration {
	if failures < set.LockoutThreshold {
		return 0
	}
	n := failures - set.LockoutThreshold
	if n > 30 {
		return set.LockoutDuration
	}
	return min(time.Second<<n, set.LockoutDuration)
}

// LoginWideFactor: the failures of one login from all addresses together
// count this many times less than those from one address, so the delay
// for everyone begins only after four addresses' worth of failures.
const LoginWideFactor = 4

// AddressKey is the address as the limits count it: an IPv6 address by
// its /64, which one subscriber holds whole (counting each address would
// give an attacker 2^64 of them).
func AddressKey(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return address
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return address
	}
	return p.String()
}

// throttleKey is the login as the throttle counts it.
func throttleKey(login string) string {
	k := strings.ToLower(strings.TrimSpace(login))
	if len(k) > 100 {
		k = k[:100]
	}
	return k
}

// SignIn checks a login and password. The password is checked outside any
// transaction, in a slot that slot grants (argon2id takes a quarter of a
// second and 64 MiB: a sign-in must not hold a database connection, nor
// run unbounded), and everything it learns is then recorded in one
// transaction: the attempt (for the per-address rate limit and the delay
// per login and address) and the audit event. The
// check runs even for unknown accounts so every answer takes as long.
func (s *Store) SignIn(ctx context.Context, login, password, address string, set auth.Settings, now time.Time,
	slot func(func() error) error) (SignInResult, error) {
	// The attempt is on record (as a failure until it succeeds) before its
	// hash queues, in the transaction that counts the earlier ones, under a
	// lock on the address: a burst of simultaneous attempts is counted one
	// by one, never all against a count of zero.
	key := throttleKey(login)
	address = AddressKey(address)
	var attempt int64
	var wait time.Duration
	limited := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sign_in:' || $1, 0))`, address); err != nil {
			return fmt.Errorf("lock the address's attempts: %w", err)
		}
		// Only failures count against an address: an office behind one
		// NAT address signing in every morning is not an attack.
		var failed int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM sign_in_attempt
			WHERE address = $1 AND at > $2 AND NOT success AND NOT throttled`,
			address, now.Add(-set.RateLimitWindow)).Scan(&failed, &oldest); err != nil {
			return fmt.Errorf("count the address's attempts: %w", err)
		}
		limited = failed >= set.RateLimitAttempts
		if limited && oldest != nil {
			// Until the oldest failure counted leaves the window.
			wait = oldest.Add(set.RateLimitWindow).Sub(now)
		}
		if !limited {
			// Failures of this login from this address since its last
			// success there, within the window, since the password was
			// last set; attempts refused while waiting do not count.
			var failures int
			var last *time.Time
			if err := tx.QueryRow(ctx, `
				SELECT count(*), max(a.at) FROM sign_in_attempt a
				WHERE a.login = $1 AND a.address = $2 AND a.at > $3 AND NOT a.success AND NOT a.throttled
				  AND a.id > coalesce((SELECT max(id) FROM sign_in_attempt WHERE login = $1 AND address = $2 AND success), 0)
				  AND a.at >= coalesce((SELECT password_changed_at FROM app_user WHERE login = $1), '-infinity')`,
				key, address, now.Add(-set.LockoutWindow)).Scan(&failures, &last); err != nil {
				return fmt.Errorf("count the login's failures: %w", err)
			}
			if d := ThrottleDelay(failures, set); d > 0 && last != nil && now.Before(last.Add(d)) {
				wait = last.Add(d).Sub(now)
			}
			// And the login's failures from every address: many addresses
			// (a proxy pool) must not guess one login without end. The
			// threshold is higher, so a colleague's mistakes from one desk
			// never slow the account elsewhere; past it every address
			// waits, a delay at most, never a lock.
			var all int
			var lastAny *time.Time
			if err := tx.QueryRow(ctx, `
				SELECT count(*), max(a.at) FROM sign_in_attempt a
				WHERE a.login = $1 AND a.at > $2 AND NOT a.success AND NOT a.throttled
				  AND a.id > coalesce((SELECT max(id) FROM sign_in_attempt WHERE login = $1 AND success), 0)
				  AND a.at >= coalesce((SELECT password_changed_at FROM app_user WHERE login = $1), '-infinity')`,
				key, now.Add(-set.LockoutWindow)).Scan(&all, &lastAny); err != nil {
				return fmt.Errorf("count the login's failures: %w", err)
			}
			if d := ThrottleDelay(all/LoginWideFactor, set); d > 0 && lastAny != nil && now.Before(lastAny.Add(d)) {
				wait = max(wait, lastAny.Add(d).Sub(now))
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO sign_in_attempt (at, address, success, login, throttled)
			VALUES ($1, $2, false, $3, $4) RETURNING id`, now, address, key, limited || wait > 0).Scan(&attempt)
	})
	if err != nil {
		return SignInResult{Outcome: SignInFailed}, fmt.Errorf("record attempt: %w", err)
	}
	if limited {
		return SignInResult{Outcome: SignInRateLimited, Wait: max(wait, time.Second)}, nil
	}
	if wait > 0 {
		// Refused without checking the password, so the wait cannot be
		// used to keep guessing; audited against the login as typed.
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			return auditInsert(ctx, tx, AuditEvent{At: now, ActorName: key, Action: "user.sign_in_failed", ObjectType: "user",
				Detail: map[string]any{"address": address, "reason": "throttled", "wait_seconds": int(wait.Round(time.Second) / time.Second)}})
		})
		return SignInResult{Outcome: SignInThrottled, Wait: wait}, err
	}
	var hash string
	var lockedUntil *time.Time
	u, err := scanUserHash(s.Pool.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash, u.locked_until
		FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.login = $1`, login), &hash, &lockedUntil)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return SignInResult{Outcome: SignInFailed}, fmt.Errorf("look up %s: %w", login, err)
	}
	var ok bool
	if err := slot(func() (err error) {
		if !known {
			auth.VerifyNobody(password)
			return nil
		}
		ok, err = auth.Verify(password, hash)
		return err
	}); err != nil {
		return SignInResult{Outcome: SignInFailed}, err
	}
	var user auth.User
	outcome := SignInFailed
	var reason string
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if !known {
			reason = ReasonUnknown
			return failAttempt(ctx, tx, attempt, now, address, 0, reason, login)
		}
		// Judged on the row as it is now, locked against the other
		// attempts on this account: it may have been disabled, locked or
		// given a new password while the hash was checked.
		var cur string
		u, err = scanUserHash(tx.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash, u.locked_until
			FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.id = $1 FOR UPDATE OF u`, u.ID), &cur, &lockedUntil)
		if err != nil {
			return fmt.Errorf("look up %s: %w", login, err)
		}
		switch {
		case u.Disabled:
			reason = ReasonDisabled
		case lockedUntil != nil && lockedUntil.After(now):
			reason = ReasonLocked
		case !ok || cur != hash:
			reason = ReasonPassword
		}
		if reason != "" {
			return failAttempt(ctx, tx, attempt, now, address, u.ID, reason, login)
		}
		if _, err := tx.Exec(ctx, `UPDATE sign_in_attempt SET user_id = $2, success = true WHERE id = $1`,
			attempt, u.ID); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE app_user SET locked_until = NULL WHERE id = $1`, u.ID); err != nil {
			return fmt.Errorf("clear lock: %w", err)
		}
		user, outcome = u, SignInOK
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "user.sign_in",
			ObjectType: "user", ObjectID: u.ID, UnitID: u.UnitID, Detail: map[string]any{"address": address, "method": "password"}})
	})
	if err != nil {
		return SignInResult{Outcome: SignInFailed}, err
	}
	return SignInResult{User: user, Outcome: outcome, Reason: reason}, nil
}

// ExternalSignIn is a sign-in that another system vouched for (single
// sign-on): no password, only which account it names.
type ExternalSignIn struct {
	Login   string         // the account's login, as the provider's claim gives it
	Method  string         // e.g. "oidc", recorded in the audit event
	Address string         // the caller's IP address
	Detail  map[string]any // more for the audit event (issuer, subject)
}

// SignInExternal signs in the account that in.Login names, if there is one
// and it may sign in (not disabled, not locked): accounts are never made
// here, the administrator makes them and gives them roles and units. The
// outcome is audited as a password sign-in is, user.sign_in or
// user.sign_in_failed, with the method; no attempt is counted against the
// password throttle, which guards against guessing, impossible here.
func (s *Store) SignInExternal(ctx context.Context, in ExternalSignIn, now time.Time) (SignInResult, error) {
	address := AddressKey(in.Address)
	detail := func(reason string) map[string]any {
		d := map[string]any{"address": address, "method": in.Method}
		maps.Copy(d, in.Detail)
		if reason != "" {
			d["reason"] = reason
		}
		return d
	}
	res := SignInResult{Outcome: SignInFailed}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var lockedUntil *time.Time
		u, err := scanUserWith(tx.QueryRow(ctx, `SELECT `+userColumns+`, u.locked_until
			FROM app_user u JOIN unit un ON un.id = u.unit_id WHERE u.login = $1`, in.Login), &lockedUntil)
		fail := func(why string) error {
			return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: in.Login, Action: "user.sign_in_failed",
				ObjectType: "user", ObjectID: u.ID, Detail: detail(why)})
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			u = auth.User{}
			return fail("unknown account")
		case err != nil:
			return fmt.Errorf("look up %s: %w", in.Login, err)
		case u.Disabled:
			return fail("disabled")
		case lockedUntil != nil && lockedUntil.After(now):
			return fail("locked")
		}
		res = SignInResult{User: u, Outcome: SignInOK}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "user.sign_in",
			ObjectType: "user", ObjectID: u.ID, UnitID: u.UnitID, Detail: detail("")})
	})
	if err != nil {
		return SignInResult{Outcome: SignInFailed}, fmt.Errorf("sign in %s by %s: %w", in.Login, in.Method, err)
	}
	return res, nil
}

// SignInRefused audits a sign-in refused before any account came into it
// (single sign-on: the provider's ID token failed the checks), as
// user.sign_in_failed under name, the subject if known.
func (s *Store) SignInRefused(ctx context.Context, name string, detail map[string]any, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorName: name, Action: "user.sign_in_failed", ObjectType: "user", Detail: detail})
	})
}

func scanUserHash(row pgx.Row, hash *string, lockedUntil **time.Time) (auth.User, error) {
	return scanUserWith(row, hash, lockedUntil)
}

// failAttempt records attempt as a failure of userID's account (0: none
// known) with its audit event.
func failAttempt(ctx context.Context, tx pgx.Tx, attempt int64, now time.Time, address string, userID int64, why, login string) error {
	if _, err := tx.Exec(ctx, `UPDATE sign_in_attempt SET user_id = $2 WHERE id = $1`, attempt, nullID(userID)); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: userID, ActorName: login, Action: "user.sign_in_failed",
		ObjectType: "user", ObjectID: userID, Detail: map[string]any{"address": address, "method": "password", "reason": why}})
}

// SignOut records the end of a session in the audit trail.
func (s *Store) SignOut(ctx context.Context, u auth.User, now time.Time, why string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: u.ID, ActorName: u.Name, Action: "user.sign_out",
			ObjectType: "user", ObjectID: u.ID, UnitID: u.UnitID, Detail: map[string]any{"reason": why}})
	})
}

// SecuritySettings reads the sign-in policy.
func (s *Store) SecuritySettings(ctx context.Context) (auth.Settings, error) {
	var (
		set                                                        auth.Settings
		lockWin, lockMin, rateMin, idleMin, absHours, pwMin, pwAge int
	)
	err := s.Pool.QueryRow(ctx, `
		SELECT lockout_threshold, lockout_window_minutes, lockout_minutes, rate_limit_attempts, rate_limit_minutes,
		       idle_timeout_minutes, absolute_timeout_hours, password_min_length, password_composition, password_max_age_days
		FROM security_setting WHERE id = 1`).Scan(&set.LockoutThreshold, &lockWin, &lockMin, &set.RateLimitAttempts,
		&rateMin, &idleMin, &absHours, &pwMin, &set.Password.Composition, &pwAge)
	if err != nil {
		return set, fmt.Errorf("read security settings: %w", err)
	}
	set.LockoutWindow = time.Duration(lockWin) * time.Minute
	set.LockoutDuration = time.Duration(lockMin) * time.Minute
	set.RateLimitWindow = time.Duration(rateMin) * time.Minute
	set.IdleTimeout = time.Duration(idleMin) * time.Minute
	set.AbsoluteTimeout = time.Duration(absHours) * time.Hour
	set.Password.MinLength = pwMin
	set.PasswordMaxAgeDays = pwAge
	return set, nil
}

// SecuritySettingsSet changes the sign-in policy, and audits old and new.
func (s *Store) SecuritySettingsSet(ctx context.Context, by Actor, set auth.Settings, now time.Time) error {
	if err := set.Validate(); err != nil {
		return err
	}
	before, err := s.SecuritySettings(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			UPDATE security_setting SET lockout_threshold = $1, lockout_window_minutes = $2, lockout_minutes = $3,
			       rate_limit_attempts = $4, rate_limit_minutes = $5, idle_timeout_minutes = $6,
			       absolute_timeout_hours = $7, password_min_length = $8, password_composition = $9,
			       password_max_age_days = $10, updated_at = $11
			WHERE id = 1`,
			set.LockoutThreshold, int(set.LockoutWindow/time.Minute), int(set.LockoutDuration/time.Minute),
			set.RateLimitAttempts, int(set.RateLimitWindow/time.Minute), int(set.IdleTimeout/time.Minute),
			int(set.AbsoluteTimeout/time.Hour), set.Password.MinLength, set.Password.Composition, set.PasswordMaxAgeDays, now)
		if err != nil {
			return fmt.Errorf("save security settings: %w", mapError(err, "settings"))
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "security.settings",
			ObjectType: "security_setting", ObjectID: 1, Detail: map[string]any{"before": settingsDetail(before), "after": settingsDetail(set)}})
	})
}

func settingsDetail(s auth.Settings) map[string]any {
	return map[string]any{
		"lockout_threshold": s.LockoutThreshold, "lockout_window_minutes": int(s.LockoutWindow / time.Minute),
		"lockout_minutes": int(s.LockoutDuration / time.Minute), "rate_limit_attempts": s.RateLimitAttempts,
		"rate_limit_minutes": int(s.RateLimitWindow / time.Minute), "idle_timeout_minutes": int(s.IdleTimeout / time.Minute),
		"absolute_timeout_hours": int(s.AbsoluteTimeout / time.Hour), "password_min_length": s.Password.MinLength,
		"password_composition": s.Password.Composition, "password_max_age_days": s.PasswordMaxAgeDays,
	}
}
