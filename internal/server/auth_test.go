package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
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
