package secondment

import (
	"errors"
	"fmt"
	"time"
)

// ErrorCode is the small set of error kinds the rest of the program maps to
// responses in one place (HTTP status, CLI exit text).
type ErrorCode string

const (
	ENotFound  ErrorCode = "not_found"
	EConflict  ErrorCode = "conflict"
	EForbidden ErrorCode = "forbidden"
	EInvalid   ErrorCode = "invalid"
	EInternal  ErrorCode = "internal"
	// EStale: the caller named the version it read (If-Match, a form's
	// hidden version) and the request has changed since.
	EStale ErrorCode = "stale"
	// ETooSoon: the same thing again before its interval (urging twice a
	// day). RetryAfter on the Error says when it may be repeated.
	ETooSoon ErrorCode = "too_soon"
	// EUnavailable: the service is too busy to do it now (every password
	// hashing slot taken); RetryAfter says when to try again.
	EUnavailable ErrorCode = "unavailable"
)

// Message is user-facing text by reference: an ID in the message catalog plus
// the values it interpolates. The domain never holds translated text, so a
// second language is a catalog file, not a code change.
type Message struct {
	ID   string
	Data map[string]any
}

// Msg builds a Message from an ID and alternating key/value pairs.
func Msg(id string, kv ...any) Message {
	m := Message{ID: id}
	if len(kv) > 0 {
		m.Data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m.Data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	return m
}

// FieldError is a problem with one input field, shown beside that field.
type FieldError struct {
	Field   string
	Message Message
}

// Error is the domain's one error type.
type Error struct {
	Code    ErrorCode
	Message Message      // summary for the user
	Fields  []FieldError // per-field problems (EInvalid)
	// Violations are the rules a request breaks (EInvalid from a
	// transition that the policy refuses), each with its own message.
	Violations Violations
	RetryAfter time.Duration // ETooSoon, EUnavailable: how long until it may be tried again
	Err        error         // cause, for logs only; never shown to a user
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message.ID
	for _, f := range e.Fields {
		s += "; " + f.Field + ": " + f.Message.ID
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf is a shorthand for an *Error without field details.
func Errorf(code ErrorCode, msg Message, cause error) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// NotFound is the error for a missing object, and equally for one outside
// the user's scope, so that a 404 never tells which. kind is for logs.
func NotFound(kind string) *Error {
	return &Error{Code: ENotFound, Message: Msg("error.not_found"), Err: errors.New(kind + " not found")}
}

// Rules lists the rule ids of a policy-violation error, in order; nil for
// any other error. The violations themselves are in e.Violations.
func (e *Error) Rules() []RuleID { return e.Violations.Rules() }
