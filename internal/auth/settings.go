package auth

import (
	"time"

	"secondment/internal/secondment"
)

// Settings is the sign-in policy the security administrator sets.
type Settings struct {
	LockoutThreshold   int           // failed sign-ins …
	LockoutWindow      time.Duration // … within this window lock the account …
	LockoutDuration    time.Duration // … for this long
	RateLimitAttempts  int           // sign-in attempts from one address …
	RateLimitWindow    time.Duration // … within this window, then 429
	IdleTimeout        time.Duration // a session unused this long ends
	AbsoluteTimeout    time.Duration // a session ends this long after sign-in, used or not
	Password           PasswordPolicy
	PasswordMaxAgeDays int // 0: passwords do not expire (等保 assessments switch it on)
}

// DefaultSettings are the defaults of the schema (migration 000003).
var DefaultSettings = Settings{
	LockoutThreshold: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute,
	RateLimitAttempts: 20, RateLimitWindow: 5 * time.Minute,
	IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
	Password: PasswordPolicy{MinLength: 10},
}

// Validate checks settings against the ranges the schema allows.
func (s Settings) Validate() error {
	var fe []secondment.FieldError
	check := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			fe = append(fe, secondment.FieldError{Field: field, Message: secondment.Msg("error.range", "Min", lo, "Max", hi)})
		}
	}
	check("lockout_threshold", s.LockoutThreshold, 3, 20)
	check("lockout_window_minutes", int(s.LockoutWindow/time.Minute), 1, 1440)
	check("lockout_minutes", int(s.LockoutDuration/time.Minute), 1, 1440)
	check("rate_limit_attempts", s.RateLimitAttempts, 5, 1000)
	check("rate_limit_minutes", int(s.RateLimitWindow/time.Minute), 1, 1440)
	check("idle_timeout_minutes", int(s.IdleTimeout/time.Minute), 5, 480)
	check("absolute_timeout_hours", int(s.AbsoluteTimeout/time.Hour), 1, 24)
	check("password_min_length", s.Password.MinLength, 10, 64)
	check("password_max_age_days", s.PasswordMaxAgeDays, 0, 3650)
	if len(fe) > 0 {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"), Fields: fe}
	}
	return nil
}
