package image

import (
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
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
		"bearer": func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/token" && r.Header.Get("Authorization") == basic:
					w.Write([]byte(`{"token":"t0k"}`))
				case r.URL.Path == "/token":
					w.WriteHeader(http.StatusUnauthorized)
				case r.Header.Get("Authorization") != "Bearer t0k":
					w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenURL+`",service="pier"`)
					w.WriteHeader(http.StatusUnauthorized)
				default:
					next.ServeHTTP(w, r)
				}
			})
		},
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
