package cli

import (
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

func TestLoginLogoutCLI(t *testing.T) {
	host, logins := startFakeAuthExport(t)
	code, out, errs := run(t, "-H", host, "login", "-u", "u", "-p", "pw", "127.0.0.1:5000")
	if code != 0 || out != "Login Succeeded\n" || !strings.Contains(errs, "--password-stdin") {
		t.Errorf("login = %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "-H", host, "login", "-u", "x", "-p", "pw"); code == 0 || !strings.Contains(errs, "bad credentials") {
		t.Errorf("refused login = %d %q", code, errs)
	}
	if code, out, errs := run(t, "-H", host, "logout", "127.0.0.1:5000"); code != 0 || !strings.Contains(out, "Removing login credentials for 127.0.0.1:5000") {
		t.Errorf("logout = %d %q %q", code, out, errs)
	}
	got := logins()
	if len(got) != 3 || got[0].Password != "pw" || got[0].ServerAddress != "127.0.0.1:5000" || got[2].Username != "" {
		t.Errorf("daemon got %+v", got)
	}
	if code, _, errs := run(t, "-H", host, "login", "-p", "pw", "--password-stdin", "-u", "u"); code == 0 || !strings.Contains(errs, "mutually exclusive") {
		t.Errorf("both passwords = %d %q", code, errs)
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
