package rootfs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/ocispec"
)

// TestMountPropagation: a bind with rshared propagation (and a shared root,
// as specgen sets for it) carries mounts both ways between the host path
// and the container; rslave only from the host in. The "host" is a mount
// namespace of the test's own, a slave of the machine's, so nothing here
// reaches the machine's mount table, and the machine's / is never touched.
func TestMountPropagation(t *testing.T) {
	for _, tc := range []struct {
		prop          string
		hostToCtr     bool
		ctrToHost     bool
		rootfsPropSet string
	}{
		{prop: "rshared", rootfsPropSet: "rshared", hostToCtr: true, ctrToHost: true},
		{prop: "rslave", rootfsPropSet: "rslave", hostToCtr: true, ctrToHost: false},
	} {
		t.Run(tc.prop, func(t *testing.T) {
			rootfs := busybox(t)
			res := make(chan propagationResult, 1)
			go func() {
				// Never unlocked: the thread, and the mount namespace it
				// made, end with this goroutine.
				runtime.LockOSThread()
				res <- propagationInNamespace(t, rootfs, tc.prop, tc.rootfsPropSet)
			}()
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.hostToCtr != tc.hostToCtr {
				t.Errorf("a host mount under the %s bind reached the container: %v, want %v", tc.prop, r.hostToCtr, tc.hostToCtr)
			}
			if r.ctrToHost != tc.ctrToHost {
				t.Errorf("a container mount under the %s bind reached the host: %v, want %v", tc.prop, r.ctrToHost, tc.ctrToHost)
			}
			if len(r.leaked) > 0 {
				t.Errorf("the container's own mounts reached the host: %v", r.leaked)
			}
		})
	}
}

type propagationResult struct {
	hostToCtr, ctrToHost bool
	leaked               []string // host mount points under the rootfs
	err                  error
}

// propagationInNamespace runs on a locked thread: it makes the thread's
// own mount namespace (the "host"), an rshared bind of a temp dir in it,
// and a container whose spec binds that dir with prop.
func propagationInNamespace(t *testing.T, rootfs, prop, rootProp string) (r propagationResult) {
	fail := func(format string, a ...any) propagationResult {
		r.err = fmt.Errorf(format, a...)
		return r
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fail("unshare: %v", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fail("make / rslave in the test's namespace: %v", err)
	}
	base := t.TempDir()
	for _, d := range []string{"fromhost", "fromctr"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			return fail("%v", err)
		}
	}
	if err := unix.Mount(base, base, "", unix.MS_BIND, ""); err != nil {
		return fail("bind %s: %v", base, err)
	}
	if err := unix.Mount("", base, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fail("make %s rshared: %v", base, err)
	}
	// The rootfs sits on a shared mount too, as on hosts whose / is shared
	// (systemd's): the container's own mounts must still not reach it.
	holder := filepath.Dir(rootfs)
	if err := unix.Mount(holder, holder, "", unix.MS_BIND, ""); err != nil {
		return fail("bind %s: %v", holder, err)
	}
	if err := unix.Mount("", holder, "", unix.MS_SHARED, ""); err != nil {
		return fail("make %s shared: %v", holder, err)
	}
	spec := ocispec.Default()
	spec.Linux.RootfsPropagation = rootProp
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/mnt/prop", Type: "bind", Source: base, Options: []string{"rbind", prop}})
	dir := t.TempDir()
	input := filepath.Join(dir, "input.json")
	b, _ := json.Marshal(helperInput{Rootfs: rootfs, Spec: spec, Contained: true, MountAfter: "/mnt/prop/fromctr"})
	if err := os.WriteFile(input, b, 0o644); err != nil {
		return fail("%v", err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+input)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: allNS, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fail("%v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		return fail("start helper: %v", err)
	}
	defer func() { _ = cmd.Wait() }()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if strings.TrimSpace(line) != "mounted" {
		stdin.Close()
		_ = cmd.Wait()
		return fail("helper: %q %v\n%s", line, err, stderr.String())
	}
	hostMounts := mountPoints(t)
	r.ctrToHost = hostMounts[filepath.Join(base, "fromctr")]
	for mp := range hostMounts {
		if mp == rootfs || strings.HasPrefix(mp, rootfs+"/") {
			r.leaked = append(r.leaked, mp)
		}
	}
	if err := unix.Mount("tmpfs", filepath.Join(base, "fromhost"), "tmpfs", 0, ""); err != nil {
		stdin.Close()
		return fail("mount on the host side: %v", err)
	}
	fmt.Fprintln(stdin)
	stdin.Close()
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		return fail("helper: %v\n%s", err, stderr.String())
	}
	var rep helperReport
	if err := json.Unmarshal(rest, &rep); err != nil {
		return fail("helper output %q: %v", rest, err)
	}
	_, r.hostToCtr = mountsByPoint(rep.Mountinfo)["/mnt/prop/fromhost"]
	return r
}

// mountPoints is this thread's mount table (its own namespace).
func mountPoints(t *testing.T) map[string]bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", unix.Gettid()))
	if err != nil {
		t.Errorf("mountinfo: %v", err)
	}
	out := map[string]bool{}
	for _, m := range parseMountinfo(string(b)) {
		out[m.Mountpoint] = true
	}
	return out
}
