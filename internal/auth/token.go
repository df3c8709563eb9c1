package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"secondment/internal/secondment"
)

// Token is a personal API token as its owner sees it (never the secret).
type Token struct {
	ID         int64
	Name       string
	Scope      TokenScope
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TokenScope is what a token may do: read (GET only, for reports and
// dashboards) or act (every call its owner may make).
type TokenScope string

const (
	ScopeRead TokenScope = "read"
	ScopeAct  TokenScope = "act"
)

// TokenLifetimes are the expiries a token may be given, in days; the
// longest is a year, so a forgotten token does not work for ever.
var TokenLifetimes = []int{30, 90, 180, 365}

// DefaultTokenDays is the lifetime offered first.
const DefaultTokenDays = 90

// Proxy is an out-of-office arrangement: Proxy acts for Principal from
// StartsOn to EndsOn, both days included.
type Proxy struct {
	ID               int64
	Principal, Proxy User
	StartsOn, EndsOn secondment.Date
	CreatedAt        time.Time
	Revoked          bool
}

// TokenPrefix starts every personal API token, so a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "sec_"

// NewToken returns a fresh API token and the hash to store. Only the hash
// is kept: the token is shown to its owner once.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return token, HashToken(token)
}

// HashToken is the stored form of a token. A fast hash is right here: the
// token has 256 random bits, so there is nothing to guess.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// LooksLikeToken reports whether s has the shape of one of our tokens.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && len(s) == len(TokenPrefix)+52
}

// NewKey is a random key, e.g. the idempotency key a create form carries so
// that a double-clicked submit creates one request.
func NewKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
