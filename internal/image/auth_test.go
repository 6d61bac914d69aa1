package image

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestPullBasicAndBearerAuth pulls through a registry that wants basic
// auth, and through one that wants a bearer token from its token server.
func TestPullBasicAndBearerAuth(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p"))
	var tokenURL string
	wraps := map[string]func(http.Handler) http.Handler{
		"basic": func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != basic {
					w.Header().Set("WWW-Authenticate", `Basic realm="pier"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				next.ServeHTTP(w, r)
			})
		},
		"bearer": func(next http.Handler) http.Handler { return bearerGate(next, basic, &tokenURL) },
	}
	for kind, wrap := range wraps {
		t.Run(kind, func(t *testing.T) {
			host := serve(t, wrap)
			tokenURL = "http://" + host + "/token"
			auth := filepath.Join(t.TempDir(), "config.json")
			if err := SaveCredentials(auth, host, "u", "p"); err != nil {
				t.Fatal(err)
			}
			src, err := New(Config{Root: t.TempDir(), AuthFile: auth, Unprivileged: true})
			if err != nil {
				t.Fatal(err)
			}
			ref := host + "/pier/private:v1"
			img := fixture(t, src, ref, twoLayers(t)...)
			if _, err := src.Push(context.Background(), ref, nil); err != nil {
				t.Fatal(err)
			}
			anon := newStore(t)
			if _, err := anon.Pull(context.Background(), ref, nil); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("anonymous pull: %v", err)
			}
			s, err := New(Config{Root: t.TempDir(), AuthFile: auth, Unprivileged: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Pull(context.Background(), ref, nil)
			if err != nil || got.ID != img.ID {
				t.Fatalf("pull with credentials: %v", err)
			}
		})
	}
}

// bearerGate wants the bearer token "t0k" on every request to next, and
// hands it out at /token to the basic credentials basic; *tokenURL is
// the token server's address.
func bearerGate(next http.Handler, basic string, tokenURL *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token" && r.Header.Get("Authorization") == basic:
			w.Write([]byte(`{"token":"t0k"}`))
		case r.URL.Path == "/token":
			w.WriteHeader(http.StatusUnauthorized)
		case r.Header.Get("Authorization") != "Bearer t0k":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+*tokenURL+`",service="pier"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// TestRequestCredentials: credentials on the context serve that request
// (password, identity token), beat the auth file, and are never sent to
// a registry they do not name.
func TestRequestCredentials(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p"))
	var tokenURL string
	host := serve(t, func(next http.Handler) http.Handler {
		gate := bearerGate(next, basic, &tokenURL)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/token" || r.Method != http.MethodPost {
				gate.ServeHTTP(w, r)
				return
			}
			// The OAuth form an identity token is exchanged by.
			r.ParseForm()
			if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != "id-tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"access_token":"t0k"}`))
		})
	})
	tokenURL = "http://" + host + "/token"
	ref := host + "/pier/private:v1"
	src := newStore(t)
	img := fixture(t, src, ref, twoLayers(t)...)
	pw := Credential{Server: host, AuthConfig: authn.AuthConfig{Username: "u", Password: "p"}}
	if _, err := src.Push(WithCredentials(context.Background(), []Credential{pw}), ref, nil); err != nil {
		t.Fatalf("push with request credentials: %v", err)
	}
	badFile := filepath.Join(t.TempDir(), "config.json")
	if err := SaveCredentials(badFile, host, "u", "wrong"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		creds []Credential
		ok    bool
	}{
		"password":             {[]Credential{pw}, true},
		"identity token":       {[]Credential{{Server: "http://" + host + "/", AuthConfig: authn.AuthConfig{IdentityToken: "id-tok"}}}, true},
		"no server named":      {[]Credential{{AuthConfig: pw.AuthConfig}}, true},
		"for another registry": {[]Credential{{Server: "other.example:5000", AuthConfig: pw.AuthConfig}}, false},
		"none: the file's":     {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(Config{Root: t.TempDir(), AuthFile: badFile, Unprivileged: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Pull(WithCredentials(context.Background(), tc.creds), ref, nil)
			if tc.ok && (err != nil || got.ID != img.ID) {
				t.Errorf("pull: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "401")) {
				t.Errorf("pull = %v, want the registry's 401", err)
			}
		})
	}
	// CheckLogin goes through the token service too.
	if err := src.CheckLogin(context.Background(), host, pw.AuthConfig); err != nil {
		t.Errorf("login with the right password: %v", err)
	}
	err := src.CheckLogin(context.Background(), host, authn.AuthConfig{Username: "u", Password: "no"})
	if !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("login with a wrong password: %v", err)
	}
}

func TestRegistryHost(t *testing.T) {
	for in, want := range map[string]string{
		"": "index.docker.io", "https://index.docker.io/v1/": "index.docker.io", "docker.io": "index.docker.io",
		"127.0.0.1:5000": "127.0.0.1:5000", "http://127.0.0.1:5000/": "127.0.0.1:5000", "https://r.example/v2/": "r.example",
	} {
		if got := RegistryHost(in); got != want {
			t.Errorf("RegistryHost(%q) = %q, want %q", in, got, want)
		}
	}
}
