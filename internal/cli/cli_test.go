package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"

	"github.com/pier-engine/pier/internal/server"
	"github.com/pier-engine/pier/internal/version"
)

type fakeBackend struct{}

func (fakeBackend) Info(context.Context) (system.Info, error) {
	return system.Info{NCPU: 7, KernelVersion: "6.18.0-test", DefaultRuntime: "pier-runtime",
		Runtimes: map[string]system.RuntimeWithStatus{"pier-runtime": {}}, MemTotal: 2 << 30}, nil
}

func (fakeBackend) Version(context.Context) (system.VersionResponse, error) {
	return system.VersionResponse{
		Platform:   system.PlatformInfo{Name: "pier"},
		Version:    "7.7.7",
		Components: []system.ComponentVersion{{Name: "Engine", Version: "7.7.7"}},
	}, nil
}

// startServer serves the real API handler with a fake backend on a Unix
// socket and returns the host to give -H.
func startServer(t *testing.T) string {
	return serveAPI(t, server.New(server.Config{Backend: fakeBackend{}, Version: "7.7.7"}))
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs pier with env and none of the connection settings of the
// machine running the test: no host, context or TLS variables, and an
// empty docker config directory.
func runEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for _, k := range []string{"PIER_HOST", "DOCKER_HOST", "DOCKER_API_VERSION", "DOCKER_TLS", "DOCKER_TLS_VERIFY",
		"DOCKER_CERT_PATH", "DOCKER_CONTEXT"} {
		t.Setenv(k, "")
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb, nil)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	host := startServer(t)
	code, out, errs := run(t, "-H", host, "version")
	if code != 0 {
		t.Fatalf("pier version = %d: %s", code, errs)
	}
	for _, want := range []string{"Client:\n Version:           " + version.Version, "API version:       " + server.MaxAPIVersion,
		"Server: pier", "Engine:\n  Version:          7.7.7", "(minimum version " + server.MinAPIVersion + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("pier version lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	host := startServer(t)
	code, out, errs := run(t, "--host", host, "version", "--format", "json")
	if code != 0 {
		t.Fatalf("pier version = %d: %s", code, errs)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if v.Server == nil || v.Server.Version != "7.7.7" || v.Client.APIVersion != server.MaxAPIVersion {
		t.Errorf("version json = %+v", v)
	}
}

func TestInfo(t *testing.T) {
	host := startServer(t)
	t.Setenv("PIER_HOST", host)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"info"}, &out, &errb, nil); code != 0 {
		t.Fatalf("pier info = %d: %s", code, errb.String())
	}
	for _, want := range []string{"CPUs: 7", "Kernel Version: 6.18.0-test", "Default Runtime: pier-runtime", "Total Memory: 2GiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pier info lacks %q:\n%s", want, out.String())
		}
	}
	code, out2, _ := run(t, "-H", host, "info", "-f", "{{.NCPU}}")
	if code != 0 || out2 != "7\n" {
		t.Errorf("info -f = %d %q", code, out2)
	}
}

func TestNoDaemon(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	for _, verb := range []string{"version", "info"} {
		code, out, errs := run(t, "-H", host, verb)
		if code != ExitFailure {
			t.Errorf("pier %s without a daemon = %d, want %d", verb, code, ExitFailure)
		}
		if !strings.Contains(errs, "pierd unreachable") {
			t.Errorf("pier %s stderr = %q", verb, errs)
		}
		if verb == "version" && !strings.Contains(out, "Client:") {
			t.Errorf("pier version without a daemon prints no client section: %q", out)
		}
	}
	if code, _, _ := run(t, "no-such-verb"); code != ExitFailure {
		t.Errorf("unknown verb = %d, want %d", code, ExitFailure)
	}
}
