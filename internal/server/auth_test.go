package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
	imagestore "github.com/pier-engine/pier/internal/image"
)

// fakeAuth is the image fake plus login: it takes user "u" only.
type fakeAuth struct {
	*fakeImages
	got registry.AuthConfig
}

func (f *fakeAuth) RegistryLogin(_ context.Context, cfg registry.AuthConfig) (registry.AuthResponse, error) {
	f.got = cfg
	if cfg.Username != "u" {
		return registry.AuthResponse{}, fmt.Errorf("login: %w", errdefs.ErrInvalidArgument)
	}
	return registry.AuthResponse{Status: "Login Succeeded"}, nil
}

func TestAuth(t *testing.T) {
	f := &fakeAuth{fakeImages: newFakeImages()}
	ts := httptest.NewServer(New(Config{Backend: &fakeBackend{}, Registry: f}))
	defer ts.Close()
	resp, body := post(t, ts.URL+"/v1.50/auth", `{"username":"u","password":"p","serveraddress":"127.0.0.1:5000"}`)
	var ok registry.AuthResponse
	if err := json.Unmarshal([]byte(body), &ok); err != nil || resp.StatusCode != http.StatusOK || ok.Status != "Login Succeeded" {
		t.Errorf("login: %s %s", resp.Status, body)
	}
	if f.got.Password != "p" || f.got.ServerAddress != "127.0.0.1:5000" {
		t.Errorf("backend got %+v", f.got)
	}
	if resp, body := post(t, ts.URL+"/v1.50/auth", `{"username":"x"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("refused login: %s %s", resp.Status, body)
	}
	if resp, body := post(t, ts.URL+"/v1.50/auth", `{`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %s %s", resp.Status, body)
	}
}

// TestRegistryAuthHeader: X-Registry-Auth and X-Registry-Config reach
// the store through the request's context, in every encoding clients
// use; an empty config carries nothing; a malformed header is a 400.
func TestRegistryAuthHeader(t *testing.T) {
	var got []imagestore.Credential
	s := &Server{log: slog.New(slog.DiscardHandler)}
	h := withRegistryAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = imagestore.CredentialsOf(r.Context())
	}), s)
	enc := func(v any, e *base64.Encoding) string {
		b, _ := json.Marshal(v)
		return e.EncodeToString(b)
	}
	pw := registry.AuthConfig{Username: "u", Password: "p?>", ServerAddress: "127.0.0.1:5000"}
	for name, tc := range map[string]struct {
		header, value string
		want          []imagestore.Credential
		status        int
	}{
		"password url":   {registry.AuthHeader, enc(pw, base64.URLEncoding), []imagestore.Credential{{Server: "127.0.0.1:5000", AuthConfig: authn.AuthConfig{Username: "u", Password: "p?>"}}}, 200},
		"password std":   {registry.AuthHeader, enc(pw, base64.StdEncoding), []imagestore.Credential{{Server: "127.0.0.1:5000", AuthConfig: authn.AuthConfig{Username: "u", Password: "p?>"}}}, 200},
		"password raw":   {registry.AuthHeader, enc(pw, base64.RawURLEncoding), []imagestore.Credential{{Server: "127.0.0.1:5000", AuthConfig: authn.AuthConfig{Username: "u", Password: "p?>"}}}, 200},
		"identity token": {registry.AuthHeader, enc(registry.AuthConfig{IdentityToken: "tok"}, base64.URLEncoding), []imagestore.Credential{{AuthConfig: authn.AuthConfig{IdentityToken: "tok"}}}, 200},
		"empty":          {registry.AuthHeader, "e30=", nil, 200},
		"build config":   {"X-Registry-Config", enc(map[string]registry.AuthConfig{"r.example": {Username: "b", Password: "c"}}, base64.URLEncoding), []imagestore.Credential{{Server: "r.example", AuthConfig: authn.AuthConfig{Username: "b", Password: "c"}}}, 200},
		"not base64":     {registry.AuthHeader, "%%%", nil, 400},
		"not json":       {registry.AuthHeader, base64.URLEncoding.EncodeToString([]byte("[1")), nil, 400},
	} {
		t.Run(name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("POST", "/images/create?fromImage=x", nil)
			r.Header.Set(tc.header, tc.value)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("credentials %+v, want %+v", got, tc.want)
			}
		})
	}
}
