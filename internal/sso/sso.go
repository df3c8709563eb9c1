// Package sso is single sign-on over OpenID Connect: the authorization
// code flow with state, nonce and PKCE, and the ID token's verification.
// It knows nothing of accounts or sessions: the server keeps a Flow in the
// user's session between Start and Finish, and maps the Identity Finish
// returns to an account.
package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is the provider and this service's registration with it.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // this service's callback, as registered
	Claim        string // the ID token claim that names the account
	// HTTPClient talks to the provider; nil: one with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock an ID token's expiry is checked against; nil: the
	// real one. The provider stamps tokens with real time, so a
	// rehearsal clock must not be used here.
	Now func() time.Time
	// Backoff is how long after a failed discovery sign-ins fail at once
	// instead of each waiting on a provider that is down; 0: 5 s.
	Backoff time.Duration
}

// FlowLifetime is how long a sign-in may take at the provider: a callback
// for a flow started longer ago is refused.
const FlowLifetime = 10 * time.Minute

// Discovery's bounds: each attempt's timeout and the attempts per request.
const (
	discoveryTimeout = 5 * time.Second
	discoveryTries   = 2
)

// Provider is one OpenID Connect provider. Discovery is lazy: the service
// starts, and is ready, while the provider is down; the first sign-in
// discovers it, and a failure is tried again by a later one.
type Provider struct {
	cfg    Config
	client *http.Client
	sem    chan struct{} // one discovery at a time

	// Set by discovery (under sem); read through discovered.
	p        *oidc.Provider
	failedAt time.Time
	lastErr  error
}

// New makes a provider; nothing is fetched yet.
func New(cfg Config) *Provider {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	return &Provider{cfg: cfg, client: c, sem: make(chan struct{}, 1)}
}

// Reason says why a sign-in through the provider failed, for the log and
// the audit trail; the user is told in words chosen by the server.
type Reason string

const (
	ReasonUnavailable Reason = "provider_unavailable" // discovery failed
	ReasonExchange    Reason = "code_exchange"        // the token endpoint refused the code
	ReasonIDToken     Reason = "id_token"             // missing, badly signed, wrong issuer or audience, expired
	ReasonNonce       Reason = "nonce"                // the token was not issued for this flow
	ReasonClaim       Reason = "claim"                // the configured claim is missing or not text
)

// Error is a failed sign-in through the provider.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return "oidc " + string(e.Reason) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is err's reason, or "" when it is not an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Flow is one sign-in under way: what the callback checks. It is kept
// server-side (the session store), never in the URL.
type Flow struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"` // PKCE
	Next     string    `json:"next"`     // the local page to go to afterwards
	Started  time.Time `json:"started"`
}

// Expired reports whether the flow is too old to finish at now.
func (f Flow) Expired(now time.Time) bool {
	return now.Sub(f.Started) > FlowLifetime || now.Before(f.Started.Add(-time.Minute))
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer  string
	Subject string // the provider's stable ID (sub)
	Login   string // the configured claim's value
}

// Start begins a sign-in: a new flow and the provider's URL to send the
// browser to.
func (p *Provider) Start(ctx context.Context, next string, now time.Time) (Flow, string, error) {
	op, err := p.discovered(ctx)
	if err != nil {
		return Flow{}, "", err
	}
	f := Flow{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier(),
		Next: next, Started: now}
	u := p.oauth(op).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return f, u, nil
}

// Finish exchanges the callback's code for tokens (with the flow's PKCE
// verifier) and verifies the ID token: signature, issuer, audience (this
// client), expiry and the flow's nonce. It returns the configured claim;
// when only the claim is missing, the error comes with the verified
// issuer and subject.
func (p *Provider) Finish(ctx context.Context, f Flow, code string) (Identity, error) {
	op, err := p.discovered(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth(op).Exchange(oidc.ClientContext(ctx, p.client), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, &Error{ReasonExchange, err}
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, &Error{ReasonIDToken, errors.New("the token response has no id_token")}
	}
	// The provider's keys are cached across sign-ins (fetched again when
	// a token names a key not seen yet: the provider rotated them).
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, &Error{ReasonIDToken, err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 || f.Nonce == "" {
		return Identity{}, &Error{ReasonNonce, errors.New("the ID token's nonce is not this sign-in's")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, &Error{ReasonIDToken, fmt.Errorf("read claims: %w", err)}
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	v, ok := claims[p.cfg.Claim].(string)
	if !ok || strings.TrimSpace(v) == "" {
		// The identity is verified, the claim is not there: say who.
		return id, &Error{ReasonClaim, fmt.Errorf("the ID token of %q has no text claim %q", idt.Subject, p.cfg.Claim)}
	}
	id.Login = v
	return id, nil
}

func (p *Provider) oauth(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// Discover fetches the provider's configuration unless it has been; the
// server calls it once at start, in the background, so a misconfigured
// issuer shows in the log before anyone signs in.
func (p *Provider) Discover(ctx context.Context) error {
	_, err := p.discovered(ctx)
	return err
}

// discovered is the provider's configuration, fetched on first use (one
// request at a time; the others wait, as long as their context allows).
// After a failure, requests within the backoff fail at once.
func (p *Provider) discovered(ctx context.Context) (*oidc.Provider, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{ReasonUnavailable, ctx.Err()}
	}
	defer func() { <-p.sem }()
	if p.p != nil {
		return p.p, nil
	}
	if !p.failedAt.IsZero() && time.Since(p.failedAt) < p.cfg.Backoff {
		return nil, &Error{ReasonUnavailable, fmt.Errorf("discovery failed %s ago: %w", time.Since(p.failedAt).Round(time.Second), p.lastErr)}
	}
	var err error
	for try := range discoveryTries {
		if try > 0 {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return nil, &Error{ReasonUnavailable, ctx.Err()}
			}
		}
		dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), discoveryTimeout)
		var op *oidc.Provider
		op, err = oidc.NewProvider(dctx, p.cfg.Issuer)
		cancel()
		if err == nil {
			p.p, p.failedAt, p.lastErr = op, time.Time{}, nil
			return op, nil
		}
	}
	p.failedAt, p.lastErr = time.Now(), err
	return nil, &Error{ReasonUnavailable, fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)}
}
