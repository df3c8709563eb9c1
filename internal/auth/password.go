package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"secondment/internal/secondment"
)

// Hasher hashes passwords with argon2id. Params are the library's defaults
// in production (about 0.25 s a hash on this machine, which is the point);
// tests use CheapParams.
type Hasher struct{ Params *argon2id.Params }

// DefaultHasher uses argon2id's recommended parameters.
var DefaultHasher = Hasher{Params: argon2id.DefaultParams}

// CheapParams make hashing fast for tests; never use them for real accounts.
var CheapParams = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Hash returns the encoded hash of password (parameters and salt included).
func (h Hasher) Hash(password string) (string, error) {
	s, err := argon2id.CreateHash(password, h.Params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}

// Verify reports whether password matches hash. An unreadable hash is an
// error, not a mismatch, so that a corrupt record is noticed.
func Verify(password, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return ok, nil
}

// dummyHash is verified against when an account does not exist, so that
// a sign-in takes as long whether or not the name is known.
var dummyHash = func() string {
	h, _ := DefaultHasher.Hash("not a password of anyone")
	return h
}()

// VerifyNobody spends the time of a real verification and fails.
func VerifyNobody(password string) { _, _ = Verify(password, dummyHash) }

// PasswordPolicy is the part of the sign-in policy that judges passwords.
type PasswordPolicy struct {
	MinLength   int  // at least 10
	Composition bool // 等保: at least three of lower case, upper case, digits, other characters
}

// MaxPasswordLength bounds the work of hashing a hostile input.
const MaxPasswordLength = 128

// PasswordContext is what a password must not contain: the account's own
// sign-in name, the person's name and the unit's name.
type PasswordContext struct {
	Login, Name, UnitName string
}

// Check judges a new password. It returns a field error on "password".
func (p PasswordPolicy) Check(password string, c PasswordContext) error {
	bad := func(id string, kv ...any) error {
		return &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.invalid"),
			Fields: []secondment.FieldError{{Field: "password", Message: secondment.Msg(id, kv...)}}}
	}
	n := utf8.RuneCountInString(password)
	min := max(p.MinLength, 10)
	if n < min || n > MaxPasswordLength {
		return bad("account.error.password_length", "Min", min, "Max", MaxPasswordLength)
	}
	if p.Composition && classes(password) < 3 {
		return bad("account.error.password_composition")
	}
	lower := strings.ToLower(password)
	for _, s := range []string{c.Login, c.Name, c.UnitName} {
		if utf8.RuneCountInString(s) >= 2 && strings.Contains(lower, strings.ToLower(s)) {
			return bad("account.error.password_personal")
		}
	}
	return nil
}

func classes(s string) int {
	var lower, upper, digit, other bool
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n
}

// GeneratePassword makes a one-time password that passes any policy:
// 16 characters from four classes, without look-alike characters.
func GeneratePassword() string {
	const (
		lower = "abcdefghjkmnpqrstuvwxyz"
		upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digit = "23456789"
		other = "-_.+=@#%"
	)
	sets := []string{lower, upper, digit, other}
	b := make([]byte, 16)
	r := make([]byte, 16)
	_, _ = rand.Read(r) // never fails (crypto/rand panics instead)
	for i := range b {
		set := sets[i%4]
		if i >= 4 {
			set = lower + upper + digit + other
		}
		b[i] = set[int(r[i])%len(set)]
	}
	// Shuffle so the four guaranteed classes are not always first.
	_, _ = rand.Read(r)
	for i := len(b) - 1; i > 0; i-- {
		j := int(r[i]) % (i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
