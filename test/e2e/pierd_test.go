package e2e_test

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/common"

	"github.com/pier-engine/pier/internal/testutil"
)

// pierVersion is what `pierd --version` says.
func pierVersion(t *testing.T) string {
	code, out, errs := run(t, testutil.Binary(t, "pierd"), "--version")
	f := strings.Fields(out)
	if code != 0 || len(f) != 3 {
		t.Fatalf("pierd --version = %d %q %q", code, out, errs)
	}
	return f[2]
}

func TestPierdServes(t *testing.T) {
	d := newPierd(t)
	version := pierVersion(t)

	t.Run("socket", func(t *testing.T) {
		fi, err := os.Stat(d.sock)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
			t.Errorf("socket mode %v, want socket 0660", fi.Mode())
		}
		first, _, _ := strings.Cut(d.stderr.String(), "\n")
		var rec map[string]any
		if err := json.Unmarshal([]byte(first), &rec); err != nil {
			t.Errorf("pierd's log is not JSON lines: %q", first)
		}
	})

	t.Run("pier version", func(t *testing.T) {
		code, out, errs := run(t, testutil.Binary(t, "pier"), "-H", d.host, "version")
		if code != 0 {
			t.Fatalf("pier version = %d: %s", code, errs)
		}
		for _, want := range []string{"Server: pier", " Engine:\n  Version:          " + version, "pier-runtime:"} {
			if !strings.Contains(out, want) {
				t.Errorf("pier version lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("pier info", func(t *testing.T) {
		code, out, errs := run(t, testutil.Binary(t, "pier"), "-H", d.host, "info", "--format", "json")
		if code != 0 {
			t.Fatalf("pier info = %d: %s", code, errs)
		}
		var info struct {
			ServerVersion, KernelVersion, DefaultRuntime, CgroupDriver, DockerRootDir string
			NCPU                                                                      int
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		if info.ServerVersion != version || info.KernelVersion != strings.TrimSpace(string(kernel)) ||
			info.DefaultRuntime != "pier-runtime" || info.CgroupDriver != "cgroupfs" ||
			info.DockerRootDir != d.root || info.NCPU < 1 {
			t.Errorf("pier info = %+v", info)
		}
	})

	for _, docker := range []string{"/usr/local/bin/docker", "/usr/bin/docker"} {
		t.Run(docker+" version", func(t *testing.T) {
			if _, err := os.Stat(docker); err != nil {
				t.Skipf("%s: no such docker CLI here (Debian's docker.io installs /usr/bin/docker): %v", docker, err)
			}
			code, out, errs := run(t, docker, "--host", d.host, "version")
			if code != 0 {
				t.Fatalf("docker version = %d: %s\n%s", code, errs, out)
			}
			server, ok := strings.CutPrefix(out[strings.Index(out, "\nServer"):], "\nServer: pier")
			if !ok || !strings.Contains(server, "Version:          "+version) {
				t.Errorf("%s version shows no pier server section:\n%s", docker, out)
			}
		})
		t.Run(docker+" info", func(t *testing.T) {
			if _, err := os.Stat(docker); err != nil {
				t.Skipf("%s: no such docker CLI here: %v", docker, err)
			}
			code, out, errs := run(t, docker, "--host", d.host, "info")
			if code != 0 || !strings.Contains(out, "Server Version: "+version) ||
				!strings.Contains(out, "Default Runtime: pier-runtime") {
				t.Errorf("docker info = %d: %s\n%s", code, errs, out)
			}
		})
	}

	t.Run("API version too new", func(t *testing.T) {
		resp, err := d.get("/v9.99/version")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var e common.ErrorResponse
		if resp.StatusCode != 400 || json.Unmarshal(body, &e) != nil ||
			!strings.HasPrefix(e.Message, "client version 9.99 is too new. Maximum supported API version is ") {
			t.Errorf("GET /v9.99/version = %d %s", resp.StatusCode, body)
		}
	})

	t.Run("second pierd refused", func(t *testing.T) {
		code, _, errs := run(t, testutil.Binary(t, "pierd"), "--root", t.TempDir(), "--host", d.host)
		if code == 0 || !strings.Contains(errs, "another daemon is listening") {
			t.Errorf("second pierd on %s = %d: %s", d.sock, code, errs)
		}
		if resp, err := d.get("/_ping"); err != nil {
			t.Errorf("first pierd stopped answering: %v", err)
		} else {
			resp.Body.Close()
		}
	})
}

// A daemon killed with SIGKILL leaves its socket file; the next one must
// take it over.
func TestPierdReplacesStaleSocket(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := shortDir(t)
	l, err := net.Listen("unix", dir+"/pier.sock")
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	d := startPierd(t, dir)
	code, _, errs := run(t, testutil.Binary(t, "pier"), "-H", d.host, "info")
	if code != 0 {
		t.Errorf("pier info after a stale socket = %d: %s", code, errs)
	}
}
