package daemon

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExecProcessOverrides(t *testing.T) {
	base := &specs.Process{Args: []string{"sleep", "1d"}, Env: []string{"PATH=/bin", "A=a"}, Cwd: "/", User: specs.User{UID: 5}, Terminal: true}
	p := execProcess(base, container.ExecCreateRequest{Cmd: []string{"sh", "-c", "x"}, Env: []string{"A=b", "C=d"}, WorkingDir: "/tmp"}, &specs.User{UID: 7, GID: 8})
	if !reflect.DeepEqual(p.Args, []string{"sh", "-c", "x"}) || p.Cwd != "/tmp" || p.User.UID != 7 || p.User.GID != 8 || p.Terminal {
		t.Errorf("process = %+v", p)
	}
	if want := []string{"PATH=/bin", "A=b", "C=d"}; !reflect.DeepEqual(p.Env, want) {
		t.Errorf("env = %q, want %q", p.Env, want)
	}
	if base.Env[1] != "A=a" || base.Args[0] != "sleep" {
		t.Errorf("base changed: %+v", base)
	}
	if p := execProcess(base, container.ExecCreateRequest{Cmd: []string{"true"}}, nil); p.User.UID != 5 || p.Cwd != "/" {
		t.Errorf("without overrides: %+v", p)
	}
}

func TestResolveExecUser(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nstaff:x:50:\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for spec, want := range map[string]specs.User{
		"nobody": {UID: 65534, GID: 65534}, "nobody:staff": {UID: 65534, GID: 50},
		"1000": {UID: 1000}, "1000:7": {UID: 1000, GID: 7}, "65534": {UID: 65534, GID: 65534},
	} {
		u, err := resolveExecUser(root, spec)
		if err != nil || u == nil || u.UID != want.UID || u.GID != want.GID {
			t.Errorf("%q: %+v, %v; want %+v", spec, u, err, want)
		}
	}
	if u, err := resolveExecUser(root, ""); u != nil || err != nil {
		t.Errorf("empty user: %+v, %v", u, err)
	}
	for _, bad := range []string{"ghost", "root:nogroup"} {
		if _, err := resolveExecUser(root, bad); err == nil || !strings.Contains(err.Error(), "unable to find") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if _, _, err := lookupID(func() (io.ReadCloser, error) { return nil, os.ErrNotExist }, "alice", true); err == nil {
		t.Error("a name without a passwd file resolved")
	}
}
