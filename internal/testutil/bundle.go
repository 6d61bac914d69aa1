package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/ocispec"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// MakeBusyboxRootfs fills dir with a minimal rootfs: the static busybox, a
// link per applet, /etc/passwd and /etc/group, and empty mount points.
func MakeBusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	data, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Bundle makes an OCI bundle in a fresh temp dir: a busybox rootfs and the
// default config with terminal off and args set, then edit applied. It
// returns the bundle directory.
func Bundle(t testing.TB, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	Requires(t, "busybox")
	dir := t.TempDir()
	if err := MakeBusyboxRootfs(filepath.Join(dir, "rootfs")); err != nil {
		t.Fatalf("busybox rootfs: %v", err)
	}
	spec := ocispec.Default()
	spec.Process.Terminal = false
	spec.Process.Args = args
	if edit != nil {
		edit(spec)
	}
	WriteSpec(t, dir, spec)
	return dir
}

// WriteSpec writes spec as dir/config.json.
func WriteSpec(t testing.TB, dir string, spec *specs.Spec) {
	t.Helper()
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
