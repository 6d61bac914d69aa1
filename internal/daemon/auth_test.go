package daemon

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
)

// basicRegistry answers /v2/ as docker-registry with htpasswd does: 200
// for user:pw, else 401 with a Basic challenge and its JSON error.
func basicRegistry(t *testing.T) string {
	t.Helper()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pw"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`))
			return
		}
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestRegistryLoginChecksAndStoresNothing(t *testing.T) {
	d := newTestDaemon(t, fakeRuntime(t))
	host := basicRegistry(t)
	ctx := context.Background()
	resp, err := d.RegistryLogin(ctx, registry.AuthConfig{Username: "user", Password: "pw", ServerAddress: host})
	if err != nil || resp.Status != "Login Succeeded" {
		t.Fatalf("good login: %+v, %v", resp, err)
	}
	for _, cfg := range []registry.AuthConfig{
		{Username: "user", Password: "wrong", ServerAddress: host},
		{ServerAddress: host}, // anonymous
	} {
		_, err := d.RegistryLogin(ctx, cfg)
		if !errors.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), "authentication required") {
			t.Errorf("login %q/%q: %v, want unauthorized with the registry's message", cfg.Username, cfg.Password, err)
		}
	}
	if _, err := os.Stat(d.authFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("login wrote %s (%v): pierd must store nothing", d.authFile(), err)
	}
}
