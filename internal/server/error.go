package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"secondment/internal/i18n"
	"secondment/internal/secondment"
	"secondment/web"
)

var (
	errNotFound = secondment.NotFound("page")
	errMethod   = &secondment.Error{Code: secondment.EInvalid, Message: secondment.Msg("error.method")}
	// errCrossOrigin is a POST from another site's page: the browser said so
	// (Sec-Fetch-Site or Origin), so it is refused before any handler runs.
	errCrossOrigin = &secondment.Error{Code: secondment.EForbidden, Message: secondment.Msg("error.cross_origin")}
)

// isAPI reports whether r is a JSON API call.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// status maps an error to its HTTP status, in one place. A stale version is
// 412 on the API, whose callers name it in If-Match; a page's form carries
// it in a hidden field, and there it is a conflict like any other (409).
func status(err error, api bool) int {
	if errors.Is(err, errMethod) {
		return http.StatusMethodNotAllowed
	}
	switch secondment.ErrorCodeOf(err) {
	case secondment.ENotFound:
		return http.StatusNotFound
	case secondment.EConflict:
		return http.StatusConflict
	case secondment.EStale:
		if api {
			return http.StatusPreconditionFailed
		}
		return http.StatusConflict
	case secondment.ETooSoon:
		return http.StatusTooManyRequests
	case secondment.EUnavailable:
		return http.StatusServiceUnavailable
	case secondment.EForbidden:
		return http.StatusForbidden
	case secondment.EInvalid:
		return http.StatusUnprocessableEntity
	default:
		return http.StatusInternalServerError
	}
}

// userMessage is what the user may read about err: the domain message for
// a domain error, a generic one with the request ID otherwise.
func userMessage(r *http.Request, err error) (title, msg string) {
	ctx := r.Context()
	var de *secondment.Error
	if errors.As(err, &de) && de.Code != secondment.EInternal {
		if de.Code == secondment.ENotFound {
			return i18n.T(ctx, "error.not_found.title"), i18n.M(ctx, de.Message)
		}
		return i18n.T(ctx, "error.title"), i18n.M(ctx, de.Message)
	}
	return i18n.T(ctx, "error.internal.title"),
		i18n.T(ctx, "error.internal", "RequestID", middleware.GetReqID(ctx))
}

// fail is the one error responder of pages and API: problem+json with
// every field and rule named on the API, the error page elsewhere. Internal
// errors are logged with the request ID that the answer quotes.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failStatus(w, r, status(err, isAPI(r)), err)
}

// failStatus is fail with the status chosen by the caller (401 has no
// domain error code of its own).
func (s *Server) failStatus(w http.ResponseWriter, r *http.Request, code int, err error) {
	ctxErr := r.Context().Err()
	switch {
	case code >= 500 && ctxErr == context.Canceled && errors.Is(err, context.Canceled):
		// The client went away: nobody reads the answer, and it is no
		// fault of the service's.
		s.log.Debug("client gone", "request_id", middleware.GetReqID(r.Context()))
		return
	case code >= 500 && code != http.StatusServiceUnavailable && dbUnavailable(err, ctxErr == context.DeadlineExceeded):
		code, err = http.StatusServiceUnavailable, unavailable(err)
		s.log.Warn("database unavailable", "request_id", middleware.GetReqID(r.Context()), "err", err)
	case code == http.StatusServiceUnavailable:
		s.log.Warn("service unavailable", "request_id", middleware.GetReqID(r.Context()), "err", err)
	case code >= 500:
		s.log.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	setRetryAfter(w, err)
	if isAPI(r) {
		s.writeProblem(w, r, code, err)
		return
	}
	title, msg := userMessage(r, err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = web.ErrorPage(web.ErrorView{Title: title, Message: msg}).Render(r.Context(), w)
}

// setRetryAfter tells the caller when to try again after an error that
// says so (ETooSoon, EUnavailable).
func setRetryAfter(w http.ResponseWriter, err error) {
	var de *secondment.Error
	if errors.As(err, &de) && de.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds())))
	}
}

// renderError and apiError are fail, named for the callers that know
// which skin they answer in.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) { s.fail(w, r, err) }
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error)    { s.fail(w, r, err) }

// problem is an RFC 9457 problem document, plus the fields at fault and the
// rules broken; the API always answers in English.
type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
	Rules     []apiViolation    `json:"rules,omitempty"`
}

// apiViolation is one rule a request breaks.
type apiViolation struct {
	Rule     string     `json:"rule"`
	Severity string     `json:"severity"`
	Message  string     `json:"message"`
	Source   *apiSource `json:"source,omitempty"`
}

// apiSource is what a rule rests on (issue #12): the document, its issuer,
// date and article where known, and the words quoted (in Chinese, as the
// documents are).
type apiSource struct {
	Document string `json:"document"`
	Issuer   string `json:"issuer,omitempty"`
	Date     string `json:"date,omitempty"`
	Article  string `json:"article,omitempty"`
	Quote    string `json:"quote,omitempty"`
}

// toAPISource is a rule's source on the API; nil when none is known.
func toAPISource(s secondment.Source) *apiSource {
	if !s.Known() {
		return nil
	}
	return &apiSource{Document: s.Document, Issuer: s.Issuer, Date: s.Date, Article: s.Article, Quote: s.Quote}
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, code int, err error) {
	en := s.catalog.Localizer(i18n.English)
	_, msg := userMessage(r.WithContext(i18n.WithLocalizer(r.Context(), en)), err)
	p := problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: msg,
		RequestID: middleware.GetReqID(r.Context())}
	var de *secondment.Error
	if errors.As(err, &de) && code < 500 {
		for _, f := range de.Fields {
			if p.Errors == nil {
				p.Errors = map[string]string{}
			}
			p.Errors[f.Field] = en.Message(f.Message)
		}
		p.Rules = violations(en, de.Violations)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(p)
}

func violations(en *i18n.Localizer, vs secondment.Violations) []apiViolation {
	var out []apiViolation
	for _, v := range vs {
		a := apiViolation{Rule: string(v.Rule), Severity: string(v.Severity), Message: en.Message(v.Message)}
		a.Source = toAPISource(v.Source)
		out = append(out, a)
	}
	return out
}

// writeJSON writes v with status 200.
func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// writeJSONStatus writes v with status.
func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// showable reports whether a page shows err beside the form that caused it
// (the user can act on it) rather than on the error page.
func showable(err error) bool {
	switch secondment.ErrorCodeOf(err) {
	case secondment.EInvalid, secondment.EConflict, secondment.EStale, secondment.ETooSoon, secondment.EUnavailable:
		return true
	}
	return false
}
