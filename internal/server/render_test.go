package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5/middleware"

	"secondment/internal/i18n"
)

// TestAPageIsSentWholeOrNotAtAll: a page goes out in one piece with its
// length; one whose rendering fails half-way is the error page, a 500 in
// the user's language quoting the request ID, and none of what was
// rendered before the failure is sent.
func TestAPageIsSentWholeOrNotAtAll(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cat := i18n.MustLoad()
	page := func(fail bool) templ.Component {
		return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			if _, err := io.WriteString(w, "<p>"+strings.Repeat("已渲染的一半", 2000)+"</p>"); err != nil {
				return err
			}
			if fail {
				return errors.New("a view's data ran out")
			}
			_, err := io.WriteString(w, "<p>end</p>")
			return err
		})
	}
	// A failure after a page and a page after a failure: the pooled
	// buffer holds nothing of the page before.
	for _, fail := range []bool{false, true, false} {
		req := httptest.NewRequest(http.MethodGet, "/secondments", nil)
		ctx := i18n.WithLocalizer(req.Context(), cat.Localizer(i18n.Chinese))
		req = req.WithContext(context.WithValue(ctx, middleware.RequestIDKey, "host/abc-000042"))
		w := httptest.NewRecorder()
		s.renderStatus(w, req, http.StatusUnprocessableEntity, page(fail))
		body := w.Body.String()
		if fail {
			if w.Code != http.StatusInternalServerError || strings.Contains(body, "已渲染的一半") ||
				!strings.Contains(body, "处理您的请求时出现错误") || !strings.Contains(body, "host/abc-000042") {
				t.Errorf("a failed page: %d, %.80q", w.Code, body)
			}
			continue
		}
		if w.Code != http.StatusUnprocessableEntity || !strings.HasPrefix(body, "<p>已渲染") || !strings.HasSuffix(body, "<p>end</p>") ||
			w.Header().Get("Content-Length") != strconv.Itoa(len(body)) ||
			w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("a page: %d, length %q for %d bytes, %q", w.Code, w.Header().Get("Content-Length"), len(body),
				w.Header().Get("Content-Type"))
		}
	}
}
