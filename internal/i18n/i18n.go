// Package i18n is the message catalog: every user-facing string lives in
// messages/*.<lang>.json and is looked up by ID. Simplified Chinese is the
// default; English is a translation of the same IDs. Several files per
// language are merged, so each area of the product keeps its own file
// (ui.*, policy.*, …).
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"secondment/internal/secondment"
)

//go:embed messages/*.json
var messageFS embed.FS

// Languages the product speaks, the default first.
const (
	Chinese = "zh-CN"
	English = "en"
)

// Supported lists the languages in the order they are offered.
var Supported = []string{Chinese, English}

// Catalog holds every message in every supported language.
type Catalog struct {
	bundle *goi18n.Bundle
	ids    map[string][]string // language → sorted message IDs
	// plain holds the text of every message rendered without data, by
	// language and ID, rendered once at Load: a page renders the same
	// labels on every row and every view (a list's nine column labels on
	// each of its fifty rows), and rendering one through go-i18n (a
	// template) was a twentieth of a list page's server time. It is read
	// only, so a lookup takes no lock and builds no key.
	plain map[string]map[string]string
	// rendered holds messages with data rendered before, by language, ID
	// and data (see dataKey), about maxRendered of them at most: a list
	// page renders the same durations and counts row after row, and each
	// through go-i18n's template was an eighth of an inbox page's server
	// time. Full, it is emptied and fills again.
	rendered  sync.Map
	renderedN atomic.Int64
}

// maxRendered bounds Catalog.rendered, whose keys are at most maxKey
// bytes.
const (
	maxRendered = 20000
	maxKey      = 256
)

// Load reads the embedded catalog. It fails when a file does not parse, so a
// broken translation stops the start instead of showing IDs to users.
func Load() (*Catalog, error) {
	b := goi18n.NewBundle(language.SimplifiedChinese)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, ids: map[string][]string{}}
	files, err := fs.Glob(messageFS, "messages/*.json")
	if err != nil {
		return nil, fmt.Errorf("list message files: %w", err)
	}
	for _, name := range files {
		data, err := messageFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		mf, err := b.ParseMessageFileBytes(data, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("parse message file %s: %w", name, err)
		}
		lang := mf.Tag.String()
		if !slices.Contains(Supported, lang) {
			return nil, fmt.Errorf("message file %s: language %q is not supported", name, lang)
		}
		for _, m := range mf.Messages {
			c.ids[lang] = append(c.ids[lang], m.ID)
		}
	}
	c.plain = map[string]map[string]string{}
	for lang := range c.ids {
		slices.Sort(c.ids[lang])
		l := &Localizer{lang: lang, loc: goi18n.NewLocalizer(b, lang), cat: c}
		texts := make(map[string]string, len(c.ids[lang]))
		for _, id := range c.ids[lang] {
			texts[id] = l.render(secondment.Msg(id))
		}
		c.plain[lang] = texts
	}
	return c, nil
}

// MustLoad is Load for tests and package initialisation of fixed data.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// IDs returns the sorted message IDs of one language.
func (c *Catalog) IDs(lang string) []string { return slices.Clone(c.ids[lang]) }

// Match picks the supported language for a user's stated preference (a
// cookie value or an Accept-Language header); anything unknown is Chinese.
func Match(pref string) string {
	pref = strings.ToLower(strings.TrimSpace(pref))
	if strings.HasPrefix(pref, "en") {
		return English
	}
	return Chinese
}

// Localizer renders messages in one language.
type Localizer struct {
	lang string
	loc  *goi18n.Localizer
	cat  *Catalog
}

// Localizer returns a renderer for lang (see Match).
func (c *Catalog) Localizer(lang string) *Localizer {
	lang = Match(lang)
	return &Localizer{lang: lang, loc: goi18n.NewLocalizer(c.bundle, lang), cat: c}
}

// Lang is the language this localizer renders.
func (l *Localizer) Lang() string { return l.lang }

// T renders message id with alternating key/value template data. A missing
// ID renders as the ID itself in brackets so that it is visible in review;
// the catalog tests make sure no used ID is missing.
func (l *Localizer) T(id string, kv ...any) string {
	return l.Message(secondment.Msg(id, kv...))
}

// Message renders a domain message.
func (l *Localizer) Message(m secondment.Message) string {
	if len(m.Data) > 0 {
		key, ok := l.dataKey(m)
		if !ok {
			return l.render(m)
		}
		if s, ok := l.cat.rendered.Load(key); ok {
			return s.(string)
		}
		s := l.render(m)
		if _, had := l.cat.rendered.LoadOrStore(key, s); !had && l.cat.renderedN.Add(1) > maxRendered {
			// Full: start again rather than keep the first texts forever.
			l.cat.rendered.Clear()
			l.cat.renderedN.Store(0)
		}
		return s
	}
	if s, ok := l.cat.plain[l.lang][m.ID]; ok {
		return s
	}
	return l.render(m) // an ID the catalog lacks: "[id]", seen in review
}

// dataKey is what m renders from in l's language: the language, the ID,
// and each datum by name with its type and value, every part prefixed by
// its length so that no two differ only in where one part ends. Only
// numbers, booleans and messages made of those are kept: text (a name, a
// number, a cell of an import) is mostly seen once, and would crowd out
// the durations and counts; other types the template might print
// differently from here.
func (l *Localizer) dataKey(m secondment.Message) (string, bool) {
	var b strings.Builder
	part := func(kind byte, v string) bool {
		b.WriteByte(kind)
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
		return b.Len() <= maxKey
	}
	if !part('l', l.lang) || !part('i', m.ID) {
		return "", false
	}
	names := make([]string, 0, len(m.Data))
	for k := range m.Data {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		var kind byte
		var v string
		switch x := m.Data[k].(type) {
		case int:
			kind, v = 'n', strconv.Itoa(x)
		case int64:
			kind, v = 'n', strconv.FormatInt(x, 10)
		case int32:
			kind, v = 'n', strconv.FormatInt(int64(x), 10)
		case bool:
			kind, v = 'b', strconv.FormatBool(x)
		case secondment.Message:
			if len(x.Data) > 0 {
				if _, ok := l.dataKey(x); !ok {
					return "", false
				}
			}
			kind, v = 'm', l.Message(x) // the text the template is given
		default:
			return "", false
		}
		if !part('k', k) || !part(kind, v) {
			return "", false
		}
	}
	return b.String(), true
}

func (l *Localizer) render(m secondment.Message) string {
	data, cloned := m.Data, false
	for k, v := range m.Data {
		if inner, ok := v.(secondment.Message); ok { // a message within a message, rendered first
			if !cloned {
				data, cloned = maps.Clone(m.Data), true
			}
			data[k] = l.Message(inner)
		}
	}
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: m.ID, TemplateData: data, PluralCount: m.Data["Count"]})
	if err != nil && m.Data["Count"] != nil {
		// A message written as one string has only the "other" form; with
		// a Count of 1 English asks for "one", which it lacks. The string
		// serves every count (a catalog gives {"one", "other"} where the
		// words differ).
		s, err = l.loc.Localize(&goi18n.LocalizeConfig{MessageID: m.ID, TemplateData: data})
	}
	if err != nil || s == "" {
		return "[" + m.ID + "]"
	}
	return s
}

type ctxKey struct{}

// WithLocalizer stores l in ctx for components that render text.
func WithLocalizer(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the localizer of ctx, or a Chinese one from the
// embedded catalog when none was set (background work, tests).
func FromContext(ctx context.Context) *Localizer {
	if l, ok := ctx.Value(ctxKey{}).(*Localizer); ok {
		return l
	}
	return fallback.Localizer(Chinese)
}

var fallback = MustLoad()

// T renders message id in the language of ctx. Templates call it as
// i18n.T(ctx, "nav.units").
func T(ctx context.Context, id string, kv ...any) string {
	return FromContext(ctx).T(id, kv...)
}

// M renders a domain message in the language of ctx.
func M(ctx context.Context, m secondment.Message) string {
	return FromContext(ctx).Message(m)
}

// Lang is the language of ctx.
func Lang(ctx context.Context) string { return FromContext(ctx).Lang() }
