package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

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
