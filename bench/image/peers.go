package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A contender pulls and unpacks ref into the empty directory dir, once.
// It returns the time of each step, in order; setup that is not part of
// a pull (starting a daemon) happens before the clock starts.
type contender struct {
	name  string
	steps []string
	run   func(ref, dir string) ([]time.Duration, error)
}

// timed runs each command in turn and times it.
func timed(cmds ...*exec.Cmd) ([]time.Duration, error) {
	var out []time.Duration
	for _, c := range cmds {
		start := time.Now()
		b, err := c.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", c.Args, err, b)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// pierContender runs this program as a child (-pier-pull), so pier pays a
// process start like the others do.
func pierContender(self string) contender {
	return contender{name: "pier", steps: []string{"pull+unpack+mount"}, run: func(ref, dir string) ([]time.Duration, error) {
		d, err := timed(exec.Command(self, "-pier-pull", ref, "-dir", dir))
		if err != nil {
			return nil, err
		}
		// The child left the rootfs mounted, as a container would use it.
		if err := checkRootfs(filepath.Join(dir, "rootfs")); err != nil {
			unmountPier(dir)
			return nil, err
		}
		return d, unmountPier(dir)
	}}
}

func skopeoContender() contender {
	return contender{name: "skopeo+umoci", steps: []string{"skopeo copy", "umoci unpack"}, run: func(ref, dir string) ([]time.Duration, error) {
		layout := filepath.Join(dir, "oci")
		d, err := timed(
			exec.Command("skopeo", "copy", "--quiet", "--insecure-policy", "--src-tls-verify=false",
				"docker://"+ref, "oci:"+layout+":bench"),
			exec.Command("umoci", "unpack", "--image", layout+":bench", filepath.Join(dir, "bundle")))
		if err != nil {
			return nil, err
		}
		return d, checkRootfs(filepath.Join(dir, "bundle", "rootfs"))
	}}
}

// containerdContender starts a private containerd for every pull (not
// timed), so each pull starts from an empty content store.
func containerdContender(pidFile string) contender {
	return contender{name: "containerd", steps: []string{"ctr image pull"}, run: func(ref, dir string) ([]time.Duration, error) {
		sock, stop, err := startContainerd(dir, pidFile)
		if err != nil {
			return nil, err
		}
		defer stop()
		ctr := func(args ...string) *exec.Cmd {
			return exec.Command("ctr", append([]string{"--address", sock, "--namespace", "bench"}, args...)...)
		}
		d, err := timed(ctr("image", "pull", "--plain-http", "--platform", "linux/amd64", ref))
		if err != nil {
			return nil, err
		}
		// Unpacked means one committed snapshot per layer.
		out, err := ctr("snapshots", "ls").Output()
		if n := strings.Count(string(out), "Committed"); err != nil || n != largeSpec.Layers {
			return nil, fmt.Errorf("containerd unpacked %d layers, want %d: %v", n, largeSpec.Layers, err)
		}
		return d, nil
	}}
}

// checkRootfs fails unless the top and bottom layers' files are in root.
func checkRootfs(root string) error {
	for _, f := range []string{"layer0/big000", fmt.Sprintf("layer%d/small%04d", largeSpec.Layers-1, largeSpec.SmallFiles-1)} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	return nil
}

// startContainerd runs containerd with its root, state and socket in dir
// and waits for its socket; stop ends it and waits. Its pid goes to
// pidFile, so run.sh can end it if this program dies first.
func startContainerd(dir, pidFile string) (sock string, stop func(), err error) {
	sock = filepath.Join(dir, "containerd.sock")
	conf := filepath.Join(dir, "config.toml")
	toml := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		return "", nil, err
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return "", nil, fmt.Errorf("start containerd: %w", err)
	}
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		log.Close()
		os.Remove(pidFile)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("containerd did not listen on %s (see %s)", sock, log.Name())
}
