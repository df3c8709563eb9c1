// Package ssotest is an OpenID Connect provider for tests: discovery, the
// signing keys, an authorization endpoint that approves at once, and a
// token endpoint that checks the client, the code and PKCE and returns an
// ID token signed RS256. What goes into the ID tokens is the test's to set,
// so it can hand out expired tokens, tokens for another client, and so on.
package ssotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const keyID = "ssotest-1"

// key is shared by every issuer of a test binary: a 2048-bit RSA key
// takes a noticeable while to make.
var key = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// Issuer is a running provider.
type Issuer struct {
	// URL is the issuer, http://127.0.0.1:port. A test may set it to
	// another name of the same address before first use (a browser test:
	// http://localhost:port, so the provider is another site).
	URL          string
	ClientID     string
	ClientSecret string

	mu          sync.Mutex
	user        map[string]any // claims of whoever "signs in"
	tweak       func(map[string]any)
	refuse      string // /authorize answers with this error
	down        bool   // discovery answers 503
	discoveries int
	codes       map[string]grant
}

type grant struct {
	redirectURI, challenge string
	claims                 map[string]any
}

// New starts a provider that knows one client; it stops with the test.
func New(t testing.TB, clientID, clientSecret string) *Issuer {
	i := &Issuer{ClientID: clientID, ClientSecret: clientSecret, codes: map[string]grant{}, user: map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks", i.jwks)
	mux.HandleFunc("GET /authorize", i.authorize)
	mux.HandleFunc("POST /token", i.token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	i.URL = srv.URL
	return i
}

// SignInAs sets the claims of the person who signs in from now on (sub,
// preferred_username, …), over the standard ones.
func (i *Issuer) SignInAs(claims map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.user = maps.Clone(claims)
}

// Tweak changes every ID token's claims last, after the standard ones and
// the user's (nil: no change): a wrong audience, an expiry in the past.
func (i *Issuer) Tweak(f func(claims map[string]any)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.tweak = f
}

// Refuse makes the authorization endpoint send the browser back with the
// OAuth error code (e.g. access_denied) instead of a code; "" approves.
func (i *Issuer) Refuse(code string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.refuse = code
}

// SetDown makes discovery fail (503) while down.
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// Discoveries is how many times the configuration was fetched.
func (i *Issuer) Discoveries() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.discoveries
}

func (i *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.discoveries++
	down := i.down
	i.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"jwks_uri":                              i.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key().PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}})
}

// authorize approves at once: back to the client's redirect URI with a
// code and the state, as a provider does after the person signs in.
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != i.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "unknown client or response type", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE (S256) required", http.StatusBadRequest)
		return
	}
	i.mu.Lock()
	refuse := i.refuse
	claims := maps.Clone(i.user)
	i.mu.Unlock()
	bq := back.Query()
	bq.Set("state", q.Get("state"))
	if refuse != "" {
		bq.Set("error", refuse)
		bq.Set("error_description", "the user refused")
	} else {
		claims["nonce"] = q.Get("nonce")
		code := rand.Text()
		i.mu.Lock()
		i.codes[code] = grant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), claims: claims}
		i.mu.Unlock()
		bq.Set("code", code)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token redeems a code once, for its client, with the PKCE verifier.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != i.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(i.ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", "Basic")
		writeJSONStatus(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	i.mu.Lock()
	g, found := i.codes[r.PostForm.Get("code")]
	delete(i.codes, r.PostForm.Get("code"))
	tweak := i.tweak
	i.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		tokenError(w, "unsupported_grant_type")
		return
	case !found || g.redirectURI != r.PostForm.Get("redirect_uri"):
		tokenError(w, "invalid_grant")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": i.URL, "aud": i.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	maps.Copy(claims, g.claims)
	if tweak != nil {
		tweak(claims)
	}
	raw, err := Sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

// Sign makes a JWT of claims signed RS256 with the issuers' key.
func Sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key(), KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

func tokenError(w http.ResponseWriter, code string) {
	writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
