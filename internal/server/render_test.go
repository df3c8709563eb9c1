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

	"secondment/internal/i18n"
)

// TestAPageIsSentWholeOrNotAtAll: a page goes out in one piece with its
// length; one whose rendering fails half-way is a 500 in the user's
// language, and none of what was rendered before the failure is sent.
func TestAPageIsSentWholeOrNotAtAll(t *testing.T) {
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
	for _, fail := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodGet, "/secondments", nil)
		req = req.WithContext(i18n.WithLocalizer(req.Context(), cat.Localizer(i18n.Chinese)))
		w := httptest.NewRecorder()
		s.renderStatus(w, req, http.StatusUnprocessableEntity, page(fail))
		body := w.Body.String()
		if fail {
			if w.Code != http.StatusInternalServerError || strings.Contains(body, "已渲染的一半") ||
				!strings.Contains(body, "处理您的请求时出现错误") {
				t.Errorf("a failed page: %d, %.80q", w.Code, body)
			}
			continue
		}
		if w.Code != http.StatusUnprocessableEntity || !strings.HasSuffix(body, "<p>end</p>") ||
			w.Header().Get("Content-Length") != strconv.Itoa(len(body)) ||
			w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("a page: %d, length %q for %d bytes, %q", w.Code, w.Header().Get("Content-Length"), len(body),
				w.Header().Get("Content-Type"))
		}
	}
}
