package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/testutil"
	"github.com/pier-engine/pier/internal/version"
)

func newTestDaemon(t *testing.T, runtime string, opts ...func(*Config)) *Daemon {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Root = filepath.Join(t.TempDir(), "root")
	cfg.ExecRoot = testExecRoot(t)
	cfg.Runtime = runtime
	for _, o := range opts {
		o(&cfg)
	}
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.hostFS = fstest.MapFS{
		"proc/sys/kernel/osrelease":        file("6.18.0\n"),
		"proc/self/mountinfo":              file(v2Mountinfo),
		"sys/fs/cgroup/cgroup.controllers": file("cpu memory pids\n"),
	}
	return d
}

// testExecRoot is an exec root of the test's own, removed (and, as root,
// unmounted) when it ends.
func testExecRoot(t *testing.T) string { return testutil.ExecRoot(t, t.TempDir()) }

// fakeRuntime is a script that prints a version the way pier-runtime does.
func fakeRuntime(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pier-runtime")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho 'pier-runtime version 4.5.6'\necho 'spec: 1.3.0'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEngineIDSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	cfg := Config{Root: root, Socket: "/run/x.sock", ExecRoot: testExecRoot(t)}
	d1, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d1.id == "" || d1.id != d2.id {
		t.Errorf("engine ids %q and %q, want one stable id", d1.id, d2.id)
	}
}

func TestInfo(t *testing.T) {
	rt := fakeRuntime(t)
	d := newTestDaemon(t, rt)
	info, err := d.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.KernelVersion != "6.18.0" || info.CgroupVersion != "2" || info.CgroupDriver != "cgroupfs" {
		t.Errorf("kernel %q cgroup %q driver %q", info.KernelVersion, info.CgroupVersion, info.CgroupDriver)
	}
	if info.DefaultRuntime != RuntimeName || info.Runtimes[RuntimeName].Path != rt {
		t.Errorf("default runtime %q, runtimes %v", info.DefaultRuntime, info.Runtimes)
	}
	if info.NCPU < 1 || info.ServerVersion != version.Version || info.DockerRootDir != d.cfg.Root || info.ID != d.id {
		t.Errorf("info = %+v", info)
	}
	imgs, err := d.ImageList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Containers != 0 || info.Images != len(imgs) {
		t.Errorf("containers %d images %d, want 0 and %d", info.Containers, info.Images, len(imgs))
	}
	if !info.MemoryLimit || !info.PidsLimit || info.CPUSet {
		t.Errorf("memory %v pids %v cpuset %v from cgroup.controllers", info.MemoryLimit, info.PidsLimit, info.CPUSet)
	}
}

func TestVersion(t *testing.T) {
	d := newTestDaemon(t, fakeRuntime(t))
	v, err := d.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != version.Version || v.Platform.Name != "pier" || v.KernelVersion != "6.18.0" {
		t.Errorf("version = %+v", v)
	}
	if len(v.Components) != 2 || v.Components[0].Name != "Engine" || v.Components[1].Version != "4.5.6" {
		t.Errorf("components = %+v, want Engine and pier-runtime 4.5.6", v.Components)
	}

	// A runtime that cannot run drops its component, not the answer.
	d = newTestDaemon(t, filepath.Join(t.TempDir(), "missing"))
	if v, err = d.Version(context.Background()); err != nil || len(v.Components) != 1 {
		t.Errorf("version without a runtime = %+v, %v", v.Components, err)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"root": "/srv/pier", "group": "wheel"}`), 0o644)
	cfg, err := LoadConfig(good, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Root != "/srv/pier" || cfg.Group != "wheel" || cfg.Socket != DefaultSocket {
		t.Errorf("config = %+v", cfg)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rooot": "/srv/pier"}`), 0o644)
	if _, err := LoadConfig(bad, DefaultConfig()); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("misspelt key: %v, want ErrInvalidArgument", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "none.json"), DefaultConfig()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if err := (Config{Root: "rel", Socket: "/s"}).Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("relative root: %v", err)
	}
}
