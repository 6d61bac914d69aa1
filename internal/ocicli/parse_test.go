package ocicli

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseUser(t *testing.T) {
	if u, err := parseUser("1000:100"); err != nil || u.UID != 1000 || u.GID != 100 {
		t.Errorf("1000:100 = %+v, %v", u, err)
	}
	if u, err := parseUser("7"); err != nil || u.UID != 7 || u.GID != 0 {
		t.Errorf("7 = %+v, %v", u, err)
	}
	for _, bad := range []string{"root", "1:x", ":1", ""} {
		if _, err := parseUser(bad); err == nil {
			t.Errorf("parseUser(%q) accepted", bad)
		}
	}
}

func TestExecProcessFromFlags(t *testing.T) {
	base := &specs.Process{
		Args: []string{"sleep", "1000"}, Env: []string{"PATH=/bin"}, Cwd: "/", NoNewPrivileges: false,
		Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}},
	}
	ef := execFlags{tty: true, env: []string{"A=b"}, cwd: "/tmp", user: "5:6", groups: []string{"10"}, caps: []string{"CAP_CHOWN"}, noNewPrivs: true}
	p, err := ef.process(base, []string{"sh", "-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Args[0] != "sh" || !p.Terminal || p.Cwd != "/tmp" || p.User.UID != 5 || p.User.GID != 6 ||
		len(p.User.AdditionalGids) != 1 || !p.NoNewPrivileges || len(p.Env) != 2 {
		t.Errorf("process %+v", p)
	}
	if len(p.Capabilities.Bounding) != 2 || len(base.Capabilities.Bounding) != 1 {
		t.Errorf("caps %v, and the container's own must stay %v", p.Capabilities.Bounding, base.Capabilities.Bounding)
	}
	if _, err := (&execFlags{}).process(base, nil); err == nil {
		t.Error("exec with neither a command nor --process accepted")
	}
	pf := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(pf, []byte(`{"args":["id"],"cwd":"/"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = (&execFlags{processFile: pf}).process(base, nil)
	if err != nil || p.Args[0] != "id" {
		t.Errorf("--process file: %+v %v", p, err)
	}
}
