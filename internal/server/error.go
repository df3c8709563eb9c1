package server

import (
	"encoding/json"
	"errors"
	"net/http"

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

// status maps a domain error code to its HTTP status, in one place.
func status(err error) int {
	if errors.Is(err, errMethod) {
		return http.StatusMethodNotAllowed
	}
	switch secondment.ErrorCodeOf(err) {
	case secondment.ENotFound:
		return http.StatusNotFound
	case secondment.EConflict:
		return http.StatusConflict
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

// renderError shows err as a page; internal errors are logged with the
// request ID that the page quotes.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code >= 500 {
		s.log.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	title, msg := userMessage(r, err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = web.ErrorPage(web.ErrorView{Title: title, Message: msg}).Render(r.Context(), w)
}

// problem is an RFC 9457 problem document; the API always answers in
// English.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// apiError writes err as application/problem+json.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	s.apiErrorStatus(w, r, status(err), err)
}

// apiErrorStatus is apiError with the status chosen by the caller (401,
// 412, 429 have no domain error code of their own).
func (s *Server) apiErrorStatus(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code >= 500 {
		s.log.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	en := r.WithContext(i18n.WithLocalizer(r.Context(), s.catalog.Localizer(i18n.English)))
	_, msg := userMessage(en, err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(code), Status: code,
		Detail: msg, RequestID: middleware.GetReqID(r.Context())})
}

// writeJSON writes v with status 200.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
