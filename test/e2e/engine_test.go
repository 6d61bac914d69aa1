package e2e_test

// The engine's core path, composed the way pierd will compose it: an image
// from the store, its rootfs as one overlay mount, a spec from the image
// config and Docker's HostConfig, pier-init as PID 1, pier-runtime.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/specgen"
	"github.com/pier-engine/pier/internal/testutil"
)

type engineBundle struct {
	dir, id string
	spec    *specgen.Output
}

// prepareContainer builds busybox offline, mounts a rootfs for a new
// container and writes its bundle; everything is undone in t.Cleanup.
func prepareContainer(t *testing.T, cfg *container.Config, host *container.HostConfig) engineBundle {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	store, err := image.New(image.Config{Root: filepath.Join(t.TempDir(), "images")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := store.BuildBusybox(context.Background(), testutil.BusyboxPath, "busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	imgCfg, err := store.Config(img)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("e2e%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	snaps := store.Snapshots()
	if err := snaps.Prepare(id, img.TopChainID()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snaps.Remove(id) })
	b := engineBundle{dir: t.TempDir(), id: id}
	rootfs := filepath.Join(b.dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := snaps.Mount(id, rootfs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snapshot.Unmount(rootfs) })
	b.spec, err = specgen.Build(specgen.Input{
		ID: id, Name: "e2e", Image: imgCfg, Config: cfg, HostConfig: host,
		Rootfs: rootfs, InitPath: testutil.Binary(t, "pier-init"),
	})
	if err != nil {
		t.Fatalf("specgen: %v", err)
	}
	data, err := json.Marshal(b.spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// runtimeCmd runs pier-runtime with its output in files, not pipes: a
// detached container inherits them and would hold a pipe open.
func runtimeCmd(t *testing.T, root string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "out"))
	errF, _ := os.Create(filepath.Join(dir, "err"))
	defer outF.Close()
	defer errF.Close()
	cmd := exec.Command(testutil.Binary(t, "pier-runtime"), append([]string{"--root", root}, args...)...)
	cmd.Stdout, cmd.Stderr = outF, errF
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("pier-runtime %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	out, _ := os.ReadFile(outF.Name())
	errOut, _ := os.ReadFile(errF.Name())
	return code, string(out), string(errOut)
}

func TestImageToContainer(t *testing.T) {
	b := prepareContainer(t,
		&container.Config{Hostname: "engine", Cmd: []string{"sh", "-c", `echo "pid1=$(tr '\0' ' ' </proc/1/cmdline)"; id -u; hostname; echo "$PATH"`}},
		&container.HostConfig{NetworkMode: "none"})
	root := t.TempDir()
	code, out, errOut := runtimeCmd(t, root, "run", "--bundle", b.dir, b.id)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "pid1=/sbin/pier-init -- sh -c") ||
		lines[1] != "0" || lines[2] != "engine" || !strings.Contains(lines[3], "/bin") {
		t.Errorf("inside the container: %q", lines)
	}
}

// With pier-init as PID 1 a program without a SIGTERM handler still stops
// at once: the signal reaches it as an ordinary child.
func TestStopIsPromptWithInit(t *testing.T) {
	b := prepareContainer(t, &container.Config{Cmd: []string{"sleep", "1000"}}, &container.HostConfig{NetworkMode: "none"})
	root := t.TempDir()
	if code, _, errOut := runtimeCmd(t, root, "run", "-d", "--bundle", b.dir, b.id); code != 0 {
		t.Fatalf("run -d: %s", errOut)
	}
	t.Cleanup(func() { runtimeCmd(t, root, "delete", "-f", b.id) })
	// PID 1 drops a signal it has no handler for, so wait until pier-init
	// has taken SIGTERM over; before that, no init could forward it.
	waitSignalReady(t, root, b.id)
	start := time.Now()
	if code, _, errOut := runtimeCmd(t, root, "kill", b.id, b.spec.StopSignal); code != 0 {
		t.Fatalf("kill %s: %s", b.spec.StopSignal, errOut)
	}
	for {
		_, out, _ := runtimeCmd(t, root, "state", b.id)
		if strings.Contains(out, `"stopped"`) {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("still running %v after %s", time.Since(start), b.spec.StopSignal)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stop took %v, want under 1 s", d)
	}
}

// waitSignalReady waits until the container's PID 1 catches or blocks
// SIGTERM (pier-init blocks it on its main thread and handles it), read
// from /proc/PID/status on the host.
func waitSignalReady(t *testing.T, root, id string) {
	t.Helper()
	_, out, _ := runtimeCmd(t, root, "state", id)
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Pid == 0 {
		t.Fatalf("state %s: %q", id, out)
	}
	const sigterm = 1 << (15 - 1)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "SigCgt" || k == "SigBlk" {
				var mask uint64
				fmt.Sscanf(strings.TrimSpace(v), "%x", &mask)
				if mask&sigterm != 0 {
					return
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("pier-init never took SIGTERM over")
}
