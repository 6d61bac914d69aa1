package daemon

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/pier-engine/pier/internal/errdefs"
)

func readAuths(t *testing.T, d *Daemon) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(d.authFile())
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return f.Auths
}

func TestRegistryLoginLogout(t *testing.T) {
	d := newTestDaemon(t, fakeRuntime(t))
	ctx := context.Background()
	resp, err := d.RegistryLogin(ctx, registry.AuthConfig{Username: "u", Password: "p:w", ServerAddress: "https://127.0.0.1:5000/"})
	if err != nil || resp.Status != "Login Succeeded" {
		t.Fatalf("login: %+v, %v", resp, err)
	}
	if _, err := d.RegistryLogin(ctx, registry.AuthConfig{Username: "hub", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	auths := readAuths(t, d)
	if got, want := auths["127.0.0.1:5000"]["auth"], base64.StdEncoding.EncodeToString([]byte("u:p:w")); got != want {
		t.Errorf("auth for 127.0.0.1:5000 = %q, want %q (file %v)", got, want, auths)
	}
	if _, ok := auths["index.docker.io"]; !ok {
		t.Errorf("no Docker Hub entry: %v", auths)
	}
	if _, err := d.RegistryLogin(ctx, registry.AuthConfig{ServerAddress: "127.0.0.1:5000"}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	auths = readAuths(t, d)
	if _, ok := auths["127.0.0.1:5000"]; ok || len(auths) != 1 {
		t.Errorf("after logout: %v", auths)
	}
	_, err = d.RegistryLogin(ctx, registry.AuthConfig{Username: "u", ServerAddress: "r"})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("login without password: %v", err)
	}
}
