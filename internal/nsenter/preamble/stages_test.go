package preamble_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/nsenter/preamble"
)

// The C init parses exactly what Go's Plan encodes: operations, numeric
// arguments, texts (NUL-ended) and binary arguments.
func TestPlanRoundTrip(t *testing.T) {
	var p nsenter.Plan
	p.Add(nsenter.OpMountInRoot, [4]uint64{7, 1, 0, 1 << 40}, "/r", "src", "/dst", "", "")
	p.AddBytes(nsenter.OpSeccomp, [4]uint64{2}, []byte{1, 0, 2, 3, 4, 5, 6, 7})
	p.Add(nsenter.OpArgs, [4]uint64{}, "sh", "-c", "echo hi")
	raw, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := preamble.ParsePlan(raw[16:], uint32(p.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].Op != uint32(nsenter.OpMountInRoot) || ops[0].Args[3] != 1<<40 ||
		string(ops[0].Text[2]) != "/dst\x00" || len(ops[0].Text[3]) != 1 {
		t.Errorf("mount operation parsed as %+v", ops[0])
	}
	if ops[1].Op != uint32(nsenter.OpSeccomp) || len(ops[1].Text) != 1 || string(ops[1].Text[0]) != "\x01\x00\x02\x03\x04\x05\x06\x07" {
		t.Errorf("binary argument parsed as %+v", ops[1])
	}
	if len(ops[2].Text) != 3 || string(ops[2].Text[2]) != "echo hi\x00" {
		t.Errorf("argv parsed as %q", ops[2].Text)
	}
	if _, err := preamble.ParsePlan(raw[16:len(raw)-3], uint32(p.Len())); !errors.Is(err, syscall.EPROTO) {
		t.Errorf("a truncated plan: %v", err)
	}
	bad := append([]byte{}, raw[16:]...)
	bad[0] = 200
	if _, err := preamble.ParsePlan(bad, uint32(p.Len())); err == nil || !strings.Contains(err.Error(), "bad type 200") {
		t.Errorf("an unknown operation: %v", err)
	}
	var nul nsenter.Plan
	nul.Add(nsenter.OpChdir, [4]uint64{}, "a\x00b")
	if _, err := nul.Encode(); err == nil {
		t.Error("a text holding NUL was encoded")
	}
}

// Paths inside the rootfs never resolve out of it: a symlink to / is the
// rootfs's root, ".." stops there, and what is made lands inside.
func TestInRootResolution(t *testing.T) {
	root := t.TempDir()
	if err := os.Symlink("/", filepath.Join(root, "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/made/by/link", filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(root) + "-cinit-escape"
	if err := preamble.MkdirInRoot(root, "/evil/../../"+name+"/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, name, "sub")); err != nil || !st.IsDir() {
		t.Errorf("the directory was not made inside the root: %v", err)
	}
	if _, err := os.Stat("/" + name); err == nil {
		os.RemoveAll("/" + name)
		t.Fatalf("mkdir escaped the root to /%s", name)
	}
	if err := preamble.MkfileInRoot(root, "/dangling"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "made/by/link")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("a dangling symlink's target was not made inside the root: %v", err)
	}
	if _, err := preamble.OpenInRoot(root, "/evil/etc/passwd"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("/evil/etc/passwd resolved to something: %v", err)
	}
	if err := os.Symlink("/proc/self/root", filepath.Join(root, "magic")); err != nil {
		t.Fatal(err)
	}
	if _, err := preamble.OpenInRoot(root, "/magic/etc"); err == nil {
		t.Error("a magic link was followed")
	}
}

// The masks' /dev/null must be the null device, reached through no symlink.
func TestDevNullIsChecked(t *testing.T) {
	for name, plant := range map[string]func(dev string) error{
		"regular file": func(dev string) error { return os.WriteFile(filepath.Join(dev, "null"), nil, 0o666) },
		"symlink":      func(dev string) error { return os.Symlink("/target", filepath.Join(dev, "null")) },
		"symlinked dir": func(dev string) error {
			os.Remove(dev)
			return os.Symlink("/", dev)
		},
	} {
		root := t.TempDir()
		dev := filepath.Join(root, "dev")
		if err := os.Mkdir(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := plant(dev); err != nil {
			t.Fatal(err)
		}
		if err := preamble.OpenDevNull(root); err == nil || !strings.Contains(err.Error(), "/dev/null") {
			t.Errorf("%s as /dev/null: %v", name, err)
		}
	}
	if err := preamble.OpenDevNull("/"); err != nil {
		t.Errorf("the host's /dev/null: %v", err)
	}
}

func TestProcIsChecked(t *testing.T) {
	if err := preamble.OpenProc("/proc"); err != nil {
		t.Errorf("/proc: %v", err)
	}
	for _, dir := range []string{t.TempDir(), "/proc/sys"} {
		if err := preamble.OpenProc(dir); err == nil || !strings.Contains(err.Error(), "not the root of a procfs") {
			t.Errorf("%s taken for a procfs root: %v", dir, err)
		}
	}
}

func TestHomeAndLookPath(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/sh\nbad line\nu:x:1000:1000::/home/u:/bin/sh\nv:x:10000:1::/v\n"
	for uid, want := range map[uint32]string{0: "/root", 1000: "/home/u", 100: "/", 10000: "/v"} {
		if got := preamble.HomeOf(passwd, uid); got != want {
			t.Errorf("HOME of %d: %q, want %q", uid, got, want)
		}
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := preamble.LookPath("tool", "/nonexistent:"+dir); err != nil || got != exe {
		t.Errorf("LookPath(tool) = %q, %v", got, err)
	}
	if _, err := preamble.LookPath("data", dir); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), `"data": executable file not found in $PATH`) {
		t.Errorf("a non-executable file on PATH: %v", err)
	}
	if _, err := preamble.LookPath(dir, dir); !errors.Is(err, syscall.EACCES) {
		t.Errorf("a directory: %v", err)
	}
	if _, err := preamble.LookPath(filepath.Join(dir, "missing"), ""); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "process.args[0]") {
		t.Errorf("a missing absolute program: %v", err)
	}
}
