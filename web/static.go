// Package web holds the markup (templ components) and the static assets.
// Handlers live in internal/server; this package only renders.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
)

//go:embed static
var staticFS embed.FS

// Static is the asset tree served under /static/.
var Static, _ = fs.Sub(staticFS, "static")

// assetHash maps an asset's name to the first 12 hex digits of its SHA-256,
// computed once: the URL changes whenever the content does, so browsers may
// cache each URL forever.
var assetHash = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(Static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return m
}()

// Asset returns the cache-busting URL of a static file, e.g.
// /static/3f2a9c0d1e4b/app.css. An unknown name panics in tests at once
// rather than shipping a broken link.
func Asset(name string) string {
	h, ok := assetHash[name]
	if !ok {
		panic("web: unknown asset " + name)
	}
	return path.Join("/static", h, name)
}

// AssetHash reports the current hash of a static file.
func AssetHash(name string) (string, bool) {
	h, ok := assetHash[name]
	return h, ok
}
