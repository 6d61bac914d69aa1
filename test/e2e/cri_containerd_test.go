package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestContainerdRuntimeHandlerPier is the second path of pier under
// Kubernetes: Debian's containerd CRI with pier-runtime as the runc-compatible
// BinaryName of a runtime handler "pier". A private containerd (its own
// root, state and socket) runs a pod through crictl with --runtime pier;
// the pod's container must be in pier-runtime's state directory and run.
// Images come from scripts/cri-fixture.sh's local registry.
func TestContainerdRuntimeHandlerPier(t *testing.T) {
	testutil.RequiresRoot(t)
	containerd, err := exec.LookPath("containerd")
	if err != nil {
		t.Fatal("containerd missing: scripts/install-deps.sh containerd (make test-deps)")
	}
	crictl := crictlPath(t)
	// The fixture's registry goes when the test ends; its images stay
	// for the next up.
	t.Cleanup(func() { exec.Command("../../scripts/cri-fixture.sh", "stop").Run() })
	out, err := exec.Command("../../scripts/cri-fixture.sh", "up").Output()
	if err != nil {
		t.Fatalf("scripts/cri-fixture.sh up: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = strings.Trim(v, `"`)
		}
	}
	dir := shortDir(t)
	certs := filepath.Join(dir, "certs.d", "registry.k8s.io")
	criMust(t, os.MkdirAll(certs, 0o755))
	criMust(t, os.WriteFile(filepath.Join(certs, "hosts.toml"), []byte(fmt.Sprintf(
		"server = \"http://%[1]s\"\n[host.\"http://%[1]s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", env["REGISTRY"])), 0o644))
	sock := filepath.Join(dir, "c.sock")
	pierRoot := filepath.Join(dir, "pier")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "%[4]s/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.9"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    netns_mounts_under_state_dir = true
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = %[5]q
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "pier"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pier]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pier.options]
          BinaryName = %[6]q
          Root = %[7]q
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "%[4]s/certs.d"
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, dir, env["CNI_CONF_DIR"],
		testutil.Binary(t, "pier-runtime"), pierRoot)
	criMust(t, os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644))

	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	criMust(t, err)
	defer logf.Close()
	cmd := exec.Command(containerd, "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	criMust(t, cmd.Start())
	cfg := filepath.Join(dir, "crictl.yaml")
	criMust(t, os.WriteFile(cfg, []byte(fmt.Sprintf("runtime-endpoint: unix://%[1]s\nimage-endpoint: unix://%[1]s\ntimeout: 30\n", sock)), 0o644))
	cri := func(args ...string) (string, error) {
		c := exec.Command(crictl, append([]string{"--config", cfg}, args...)...)
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			err = fmt.Errorf("crictl %s: %w: %s", args[0], err, stderr.String())
		}
		return strings.TrimSpace(string(out)), err
	}
	t.Cleanup(func() {
		_, _ = cri("rmp", "--force", "--all")
		// the shims outlive containerd: each is ended by the PID it wrote
		shims, _ := filepath.Glob(filepath.Join(dir, "state", "io.containerd.runtime.v2.task", "*", "*", "shim.pid"))
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		for _, f := range shims {
			if b, err := os.ReadFile(f); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		unmountUnder(dir)
		_ = exec.Command("ip", "link", "del", "piercrifix0").Run()
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := cri("info"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("containerd did not answer on %s; log:\n%s", sock, b)
		}
	}
	pod := filepath.Join(dir, "pod.json")
	criMust(t, os.WriteFile(pod, []byte(`{"metadata":{"name":"p","namespace":"ctd","uid":"ctd-1"},"linux":{}}`), 0o644))
	ctr := filepath.Join(dir, "ctr.json")
	criMust(t, os.WriteFile(ctr, []byte(`{"metadata":{"name":"c"},"image":{"image":"registry.k8s.io/e2e-test-images/busybox:1.29-2"},
"command":["sleep","1000"],"linux":{}}`), 0o644))
	if out, err := cri("pull", "registry.k8s.io/e2e-test-images/busybox:1.29-2"); err != nil {
		t.Fatalf("pull: %v %s", err, out)
	}
	podID, err := cri("runp", "--runtime", "pier", pod)
	if err != nil {
		t.Fatalf("runp --runtime pier: %v %s", err, podID)
	}
	id, err := cri("create", podID, ctr, pod)
	if err != nil {
		t.Fatalf("create: %v %s", err, id)
	}
	if out, err := cri("start", id); err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	// pier-runtime's state of both the sandbox and the container, under
	// the handler's Root and containerd's k8s.io namespace
	for _, x := range []string{podID, id} {
		if _, err := os.Stat(filepath.Join(pierRoot, "k8s.io", x, "state.json")); err != nil {
			t.Errorf("no pier-runtime state for %s: %v", x, err)
		}
	}
	if out, err := cri("exec", id, "sh", "-c", "echo $((6*7))"); err != nil || out != "42" {
		t.Errorf("exec = %q, %v", out, err)
	}
	if out, err := cri("rmp", "--force", podID); err != nil {
		t.Errorf("rmp: %v %s", err, out)
	}
	if ents, _ := os.ReadDir(filepath.Join(pierRoot, "k8s.io")); len(ents) > 0 {
		t.Errorf("pier-runtime state left after rmp: %v", ents)
	}
}

// unmountUnder detaches every mount under dir that containerd left, the
// deepest first.
func unmountUnder(dir string) {
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	var mounts []string
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}
