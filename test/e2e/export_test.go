package e2e_test

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// tarFile returns the content of name in the tar b, and whether it is there.
func tarFile(t *testing.T, b []byte, name string) (string, bool) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			c, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(c), true
		}
	}
}

// TestExport: docker export and pier export -o of a stopped container
// hold the file it wrote and busybox's own.
func TestExport(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	pier := testutil.Binary(t, "pier")
	docker := dockers[0]
	mustRun(t, docker, "--host", d.host, "run", "--name", "wr", "busybox", "sh", "-c", "echo hello > /hello")
	out := mustRun(t, docker, "--host", d.host, "export", "wr")
	if c, ok := tarFile(t, []byte(out), "hello"); c != "hello\n" {
		t.Errorf("docker export: hello = %q (present %v)", c, ok)
	}
	if _, ok := tarFile(t, []byte(out), "bin/busybox"); !ok {
		t.Error("docker export lacks bin/busybox")
	}
	f := filepath.Join(t.TempDir(), "w.tar")
	mustRun(t, pier, "-H", d.host, "export", "-o", f, "wr")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := tarFile(t, b, "hello"); c != "hello\n" {
		t.Errorf("pier export -o: hello = %q", c)
	}
	if code, _, errs := run(t, docker, "--host", d.host, "export", "nope"); code == 0 || !strings.Contains(errs, "No such container") {
		t.Errorf("export of unknown = %d %q", code, errs)
	}
	mustRun(t, docker, "--host", d.host, "rm", "wr")
	noContainersLeft(t, d)
}

// TestLogin: pier login and docker login store the credentials in
// pierd's auth file as docker's config.json does; logout removes them.
// The registry has no htpasswd (no bcrypt tool here), so this checks
// storage, not that pulls present the credentials.
func TestLogin(t *testing.T) {
	d := newPierd(t)
	pier := testutil.Binary(t, "pier")
	auths := func() map[string]map[string]string {
		b, err := os.ReadFile(filepath.Join(d.root, "auth.json"))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Auths map[string]map[string]string `json:"auths"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f.Auths
	}
	out := mustRun(t, pier, "-H", d.host, "login", "-u", "me", "-p", "pw", "127.0.0.1:5999")
	if out != "Login Succeeded\n" {
		t.Errorf("pier login printed %q", out)
	}
	if got, want := auths()["127.0.0.1:5999"]["auth"], base64.StdEncoding.EncodeToString([]byte("me:pw")); got != want {
		t.Errorf("auth file entry = %q, want %q", got, want)
	}
	mustRun(t, pier, "-H", d.host, "logout", "127.0.0.1:5999")
	if a := auths(); len(a) != 0 {
		t.Errorf("after logout: %v", a)
	}
}
