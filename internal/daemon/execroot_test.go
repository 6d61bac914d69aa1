package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestDefaultExecRoot(t *testing.T) {
	if got := DefaultExecRoot(DefaultRoot); got != "/run/pier/exec/default" {
		t.Errorf("default root's exec root = %q", got)
	}
	a, b := DefaultExecRoot("/tmp/a/root"), DefaultExecRoot("/tmp/b/root")
	if a == b || !strings.HasPrefix(a, "/run/pier/exec/") || a != DefaultExecRoot("/tmp/a/root/") {
		t.Errorf("exec roots of two roots: %q, %q", a, b)
	}
	if got := (Config{Root: "/r"}).execRoot(); got != DefaultExecRoot("/r") {
		t.Errorf("unset exec root = %q", got)
	}
}

func TestExecRootValidate(t *testing.T) {
	for _, tc := range []struct {
		exec string
		ok   bool
	}{
		{"/run/pier/exec", true},
		{"", true},               // the default: the tmpfs goes on /run/pier/exec
		{"/srv/pier/exec", true}, // inside the root is allowed
		{"/srv/pier", false},     // the root itself
		{"/srv", false},          // would hide the root
		{"/run/s", false},        // would hide the socket
		{"/", false},
		{"rel", false},
	} {
		err := Config{Root: "/srv/pier", Socket: "/run/s/pier.sock", ExecRoot: tc.exec}.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, errdefs.ErrInvalidArgument)) {
			t.Errorf("exec-root %q: %v", tc.exec, err)
		}
	}
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(`{"exec-root": "/run/x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadConfig(p, DefaultConfig()); err != nil || cfg.ExecRoot != "/run/x" {
		t.Errorf("daemon.json exec-root: %q, %v", cfg.ExecRoot, err)
	}
}

// A container's volatile files are in the exec root, not under the root;
// after a reboot (exec root empty, the monitor's pid now another
// process's) the daemon records the container as exited instead of
// waiting for that process, and the next start makes the files again.
func TestExecRootAfterReboot(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "ctr", container.Config{Cmd: []string{"/hello"}})
	p := d.paths(id)
	if !strings.HasPrefix(p.hostname, d.execRoot+"/") || !strings.HasPrefix(p.status, d.execRoot+"/") ||
		!strings.HasPrefix(d.attachSocket(id), d.execRoot+"/") || !strings.HasPrefix(d.runtimeRoot(), d.execRoot+"/") {
		t.Fatalf("volatile paths outside the exec root %s: %+v", d.execRoot, p)
	}
	for _, f := range []string{p.hostname, p.hosts, p.resolvConf, p.log, p.config} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after create: %v", err)
		}
	}
	for _, f := range legacyRunFiles {
		if _, err := os.Lstat(filepath.Join(p.dir, f)); err == nil {
			t.Errorf("%s is under the root", f)
		}
	}
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	// The reboot: the tmpfs is empty and the recorded monitor pid is a
	// live process that is no monitor (this test's).
	var r containerRecord
	if err := d.md.Update(containerKind, id, &r, func() error { r.MonitorPid = os.Getpid(); return nil }); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(d.execRoot)
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(d.execRoot, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	d.exitMu.Lock()
	delete(d.exits, id) // the first run's waiter belongs to the daemon before the reboot
	d.exitMu.Unlock()
	if err := d.adoptContainers(); err != nil {
		t.Fatal(err)
	}
	if err := d.md.Get(containerKind, id, &r); err != nil || r.State != container.StateExited || r.ExitCode != 255 {
		t.Fatalf("after the reboot: state %q exit %d, %v; want exited 255", r.State, r.ExitCode, err)
	}
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p.hostname); err != nil || string(b) != id[:12]+"\n" {
		t.Errorf("hostname after the reboot's start: %q, %v", b, err)
	}
	if err := d.ContainerRemove(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.run); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exec-root directory after remove: %v", err)
	}
}

// A container made by a pierd before the exec root keeps working: its
// spec's binds are moved there at its next start.
func TestExecRootMigratesLegacyContainer(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "old", container.Config{Cmd: []string{"/hello"}})
	p := d.paths(id)
	spec, err := os.ReadFile(p.config)
	if err != nil {
		t.Fatal(err)
	}
	// What an older pierd wrote: the files in the container's directory.
	legacy := strings.ReplaceAll(string(spec), p.run+"/", p.dir+"/")
	if legacy == string(spec) {
		t.Fatal("the spec names no exec-root file")
	}
	if err := os.WriteFile(p.config, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		b, err := os.ReadFile(filepath.Join(p.run, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(p.dir, f), b, 0o644)
		}
		if err == nil {
			err = os.Remove(filepath.Join(p.run, f))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p.config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), p.dir+"/hosts") || !strings.Contains(string(got), `"`+p.hosts+`"`) {
		t.Errorf("spec after migration still binds the old files:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "hostname")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old hostname file left: %v", err)
	}
	if err := d.ContainerRemove(ctx, id, true); err != nil {
		t.Fatal(err)
	}
}

// A directory in the exec root without a container (a remove pierd did not
// finish) is swept at the next start.
func TestSweepRunDirWithoutContainer(t *testing.T) {
	d := newContainerDaemon(t)
	stray := filepath.Join(d.execRoot, "containers", strings.Repeat("ab", 32))
	if err := os.MkdirAll(stray, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stray, "hosts"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.sweepOrphans(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stray exec-root directory: %v", err)
	}
}
