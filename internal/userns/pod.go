package userns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mapping is one contiguous range of ids: container ids [ContainerID,
// ContainerID+Size) are host ids [HostID, HostID+Size).
type Mapping struct {
	ContainerID, HostID, Size uint32
}

// Paths says where NewPod binds each namespace; an empty path means the
// pod does not get that one (it keeps the host's). User is required.
type Paths struct {
	User, Net, IPC, UTS string
}

// holderEnv marks the holder's process; holderName is its argv[0].
const (
	holderEnv  = "_PIER_USERNS_HOLDER"
	holderName = "pier-userns-holder"
)

// IsHolder says this process was started by NewPod as the holder; its
// main must then call HolderMain and exit with its code before doing
// anything else.
func IsHolder() bool { return os.Getenv(holderEnv) == "1" }

// HolderMain is the holder's whole life: set the pod's hostname in the
// new UTS namespace (argv[1], may be empty), say "ok" (or the error) on
// stdout, then wait for stdin to close. It runs as root of the new user
// namespace, which owns the UTS one.
func HolderMain() int {
	if len(os.Args) > 1 && os.Args[1] != "" {
		if err := unix.Sethostname([]byte(os.Args[1])); err != nil {
			fmt.Printf("sethostname %q: %v\n", os.Args[1], err)
			return 1
		}
	}
	fmt.Println("ok")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// NewPod makes a user namespace with the given single-range maps and, in
// it, the network, IPC and UTS namespaces p names; binds each on its path
// (files it creates) and sets the UTS one's hostname. On failure nothing
// is left: no file, mount or process.
func NewPod(p Paths, uid, gid Mapping, hostname string) (err error) {
	if p.User == "" {
		return errors.New("user namespace: no path")
	}
	flags := uintptr(unix.CLONE_NEWUSER)
	binds := []struct{ name, path string }{{"user", p.User}}
	for _, ns := range []struct {
		flag       uintptr
		name, path string
	}{{unix.CLONE_NEWNET, "net", p.Net}, {unix.CLONE_NEWIPC, "ipc", p.IPC}, {unix.CLONE_NEWUTS, "uts", p.UTS}} {
		if ns.path != "" {
			flags |= ns.flag
			binds = append(binds, struct{ name, path string }{ns.name, ns.path})
		}
	}
	if hostname != "" && p.UTS == "" {
		return errors.New("user namespace: a hostname needs a UTS namespace")
	}
	var made []string
	defer func() {
		if err != nil {
			for _, m := range made {
				_ = Delete(m)
			}
		}
	}()
	for _, b := range binds {
		f, err := os.OpenFile(b.path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return fmt.Errorf("%s namespace %s: create mount point: %w", b.name, b.path, err)
		}
		_ = f.Close()
		made = append(made, b.path)
	}
	h, err := startHolder(flags, uid, gid, hostname)
	if err != nil {
		return err
	}
	defer h.stop()
	for _, b := range binds {
		src := fmt.Sprintf("/proc/%d/ns/%s", h.cmd.Process.Pid, b.name)
		if err := unix.Mount(src, b.path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("%s namespace %s: bind mount %s: %w", b.name, b.path, src, err)
		}
	}
	return nil
}

type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHolder clones the holder into the new namespaces (Go's fork writes
// the id maps before the holder's execve) and waits for its "ok".
func startHolder(flags uintptr, uid, gid Mapping, hostname string) (*holder, error) {
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: []string{holderName, hostname},
		Env: []string{holderEnv + "=1"}, Dir: "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  flags,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: int(uid.ContainerID), HostID: int(uid.HostID), Size: int(uid.Size)}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: int(gid.ContainerID), HostID: int(gid.HostID), Size: int(gid.Size)}},
			// The containers that join the namespace need setgroups
			// (supplementary groups); the maps are written by root.
			GidMappingsEnableSetgroups: true,
			// root of the new namespace: an unmapped uid would lose its
			// capabilities there at execve, and sethostname with them
			Credential: &syscall.Credential{Uid: 0, Gid: 0},
			Pdeathsig:  unix.SIGKILL,
		},
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("user namespace holder: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("user namespace holder: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user namespace holder: %w", err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	line, rerr := bufio.NewReader(out).ReadString('\n')
	if line = strings.TrimSpace(line); line != "ok" {
		h.stop()
		if line == "" && rerr != nil {
			line = rerr.Error()
		}
		return nil, fmt.Errorf("user namespace holder: %s", line)
	}
	return h, nil
}

// stop lets the holder go and reaps it; the namespaces stay while bound.
func (h *holder) stop() {
	_ = h.stdin.Close()
	_ = h.cmd.Wait()
}

// Delete unmounts and removes a namespace file NewPod made; what is
// already gone is not an error.
func Delete(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("namespace %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("namespace %s: %w", path, err)
	}
	return nil
}
