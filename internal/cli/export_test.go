package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

// startFakeAuthExport serves /auth (user "u" only; no user removes) and
// the export of container "s" ("TAR"), recording the logins it got.
func startFakeAuthExport(t *testing.T) (string, func() []registry.AuthConfig) {
	var (
		mu     sync.Mutex
		logins []registry.AuthConfig
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Api-Version", "1.51") })
	mux.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		var cfg registry.AuthConfig
		json.NewDecoder(r.Body).Decode(&cfg)
		mu.Lock()
		logins = append(logins, cfg)
		mu.Unlock()
		switch cfg.Username {
		case "u":
			json.NewEncoder(w).Encode(registry.AuthResponse{Status: "Login Succeeded"})
		case "":
			json.NewEncoder(w).Encode(registry.AuthResponse{Status: "Removing login credentials for " + cfg.ServerAddress})
		default:
			apiError(w, http.StatusUnauthorized, "unauthorized: bad credentials")
		}
	})
	mux.HandleFunc("GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "s" {
			apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
			return
		}
		w.Write([]byte("TAR"))
	})
	return serveAPI(t, unversioned(mux)), func() []registry.AuthConfig {
		mu.Lock()
		defer mu.Unlock()
		return append([]registry.AuthConfig(nil), logins...)
	}
}

func TestExportCLI(t *testing.T) {
	host, _ := startFakeAuthExport(t)
	code, out, errs := run(t, "-H", host, "export", "s")
	if code != 0 || out != "TAR" {
		t.Errorf("export to stdout = %d %q %q", code, out, errs)
	}
	f := filepath.Join(t.TempDir(), "s.tar")
	if code, _, errs := run(t, "-H", host, "export", "-o", f, "s"); code != 0 {
		t.Fatalf("export -o = %d: %s", code, errs)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "TAR" {
		t.Errorf("export -o wrote %q, %v", b, err)
	}
	if code, _, errs := run(t, "-H", host, "export", "nope"); code == 0 || !strings.Contains(errs, "No such container: nope") {
		t.Errorf("export of unknown = %d %q", code, errs)
	}
}

// TestLoginLogoutCLI: login has pierd check the credentials and keeps
// them in the client's config.json, as docker login does; logout removes
// them without asking pierd.
func TestLoginLogoutCLI(t *testing.T) {
	host, logins := startFakeAuthExport(t)
	env := map[string]string{"DOCKER_CONFIG": t.TempDir()}
	stored := func() map[string]map[string]string {
		var f struct{ Auths map[string]map[string]string }
		b, _ := os.ReadFile(filepath.Join(env["DOCKER_CONFIG"], "config.json"))
		json.Unmarshal(b, &f)
		return f.Auths
	}
	code, out, errs := runEnv(t, env, "-H", host, "login", "-u", "u", "-p", "pw", "127.0.0.1:5000")
	if code != 0 || out != "Login Succeeded\n" || !strings.Contains(errs, "--password-stdin") {
		t.Errorf("login = %d %q %q", code, out, errs)
	}
	if got := stored()["127.0.0.1:5000"]["auth"]; got != base64.StdEncoding.EncodeToString([]byte("u:pw")) {
		t.Errorf("config.json after login: %v", stored())
	}
	if code, _, errs := runEnv(t, env, "-H", host, "login", "-u", "x", "-p", "pw"); code == 0 || !strings.Contains(errs, "bad credentials") {
		t.Errorf("refused login = %d %q", code, errs)
	}
	if _, ok := stored()[hubServer]; ok {
		t.Errorf("refused login stored: %v", stored())
	}
	if code, out, errs := runEnv(t, env, "-H", host, "logout", "127.0.0.1:5000"); code != 0 || !strings.Contains(out, "Removing login credentials for 127.0.0.1:5000") {
		t.Errorf("logout = %d %q %q", code, out, errs)
	}
	if len(stored()) != 0 {
		t.Errorf("config.json after logout: %v", stored())
	}
	got := logins()
	if len(got) != 2 || got[0].Password != "pw" || got[0].ServerAddress != "127.0.0.1:5000" || got[1].ServerAddress != hubServer {
		t.Errorf("daemon got %+v", got)
	}
	if code, _, errs := run(t, "-H", host, "login", "-p", "pw", "--password-stdin", "-u", "u"); code == 0 || !strings.Contains(errs, "mutually exclusive") {
		t.Errorf("both passwords = %d %q", code, errs)
	}
}

// TestRegistryAuth: pull and push send the stored credentials of the
// image's registry, and nothing for another.
func TestRegistryAuth(t *testing.T) {
	dir := t.TempDir()
	conf := `{"auths":{"127.0.0.1:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("u:p:w")) + `"},
		"https://index.docker.io/v1/":{"identitytoken":"tok"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &app{}
	a.conn.configDir = dir
	for ref, want := range map[string]registry.AuthConfig{
		"127.0.0.1:5000/x:1": {Username: "u", Password: "p:w", ServerAddress: "127.0.0.1:5000"},
		"busybox":            {IdentityToken: "tok", ServerAddress: hubServer},
		"library/busybox:1":  {IdentityToken: "tok", ServerAddress: hubServer},
		"other.example/x":    {},
		"localhost:5000/x:1": {},
	} {
		enc, err := a.registryAuth(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		var got registry.AuthConfig
		if enc != "" {
			b, err := base64.URLEncoding.DecodeString(enc)
			if err != nil || json.Unmarshal(b, &got) != nil {
				t.Fatalf("%s: header %q", ref, enc)
			}
		}
		if got != want {
			t.Errorf("%s: sent %+v, want %+v", ref, got, want)
		}
	}
}

func TestReadPassword(t *testing.T) {
	if p, err := readPassword(strings.NewReader("s3cret\r\nmore\n")); err != nil || p != "s3cret" {
		t.Errorf("readPassword = %q, %v", p, err)
	}
	if _, err := readPassword(strings.NewReader("")); err == nil {
		t.Error("empty password accepted")
	}
}
