package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/sys"
	"github.com/pier-engine/pier/internal/trace"
)

// spawnOpts describes one process to start through the C preamble.
type spawnOpts struct {
	stdio     [3]*os.File // nil: the runtime's own
	preserve  []*os.File  // become fds 3.. in the container
	extra     []*os.File  // our own fds, after the preserved ones
	owned     []*os.File  // of extra, those closeExtra closes
	bootstrap nsenter.Bootstrap
	cgroup    cgroups.Manager // the preamble's process is placed here first
	// cgroupExists: exec into a live container, whose cgroup is made.
	cgroupExists bool
	uidMaps      []specs.LinuxIDMapping
	gidMaps      []specs.LinuxIDMapping
	exe          string // Runtime.Exe
	// setpgid puts the preamble, and so the process it clones, in a new
	// process group: a library caller kills the group (pierd's exec)
	// without its own.
	setpgid bool
}

// child is the process that came out of the preamble into Go.
type child struct {
	pid  int
	sock *os.File
	conn *syncmsg.Conn
}

// fdOf returns the number that the i-th extra file gets in the child.
func (o *spawnOpts) fdOf(i int) int { return 3 + len(o.preserve) + 1 + i }

// addExtra passes f to the child and returns its fd number there; with
// owned, closeExtra closes it once the child has its copy.
func (o *spawnOpts) addExtra(f *os.File, owned bool) int {
	o.extra = append(o.extra, f)
	if owned {
		o.owned = append(o.owned, f)
	}
	return o.fdOf(len(o.extra) - 1)
}

// closeExtra closes the extra files opened for the child.
func (o *spawnOpts) closeExtra() {
	for _, f := range o.owned {
		f.Close()
	}
}

// spawn starts the preamble process, hands it the bootstrap message
// (namespaces, and the cgroup it enters itself, the fast way nsenter.c
// explains), writes id maps on request and returns the process that
// continues into Go. On error nothing is left
// running. The child only goes on once it has its config, which the caller
// sends after spawn returns; it unshares its cgroup namespace then
// (syncmsg.InitConfig.NewCgroupNS), inside its cgroup.
func spawn(o *spawnOpts) (c *child, err error) {
	exe, err := selfExe(o.exe)
	if err != nil {
		return nil, err
	}
	if o.cgroup != nil {
		if !o.cgroupExists {
			if err := o.cgroup.Apply(0); err != nil {
				return nil, err
			}
			trace.Mark("runtime", "cgroup made")
		}
		o.bootstrap.Cgroups = cgroupEntries(o.cgroup)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "bootstrap-parent")
	childEnd := os.NewFile(uintptr(fds[1]), "bootstrap-child")
	defer childEnd.Close()
	defer func() {
		if err != nil {
			parent.Close()
		}
	}()

	// Go passes on any fd this process inherited without close-on-exec
	// (from whoever ran the runtime); the container's process must get
	// only the files listed below.
	if err := sys.CloseExecFrom(3); err != nil {
		return nil, err
	}
	bootFd := 3 + len(o.preserve)
	cmd := &exec.Cmd{
		Path: fmt.Sprintf("/proc/self/fd/%d", exe.Fd()),
		// argv[0] is the preamble's name for ps, and the room the clone
		// renames itself in (nsenter.c).
		Args: []string{nsenter.NamePreamble, "init"},
		// One P and no collector: the init allocates little, lives for
		// milliseconds before execve, and must not need threads it may not
		// be allowed to create under a pids limit. No cgroup-aware
		// GOMAXPROCS either: it keeps the host's cpu.cfs_* files open.
		Env: []string{nsenter.BootstrapEnv + "=" + strconv.Itoa(bootFd), "GOMAXPROCS=1", "GOGC=off",
			"GODEBUG=containermaxprocs=0,updatemaxprocs=0"},
		ExtraFiles: append(append(append([]*os.File{}, o.preserve...), childEnd), o.extra...),
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if o.stdio[0] != nil {
		cmd.Stdin = o.stdio[0]
	}
	if o.stdio[1] != nil {
		cmd.Stdout = o.stdio[1]
	}
	if o.stdio[2] != nil {
		cmd.Stderr = o.stdio[2]
	}
	if o.setpgid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if trace.On() {
		cmd.Env = append(cmd.Env, trace.Env+"="+os.Getenv(trace.Env))
	}
	trace.Mark("runtime", "preamble: fork+exec")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start container process: %w", err)
	}
	trace.Mark("runtime", "preamble started")
	pid, err := handshake(cmd, parent, o)
	trace.Mark("runtime", "container pid received")
	if err == nil {
		// The preamble's process exits right after naming its clone, with
		// nothing left to report; reap it without holding the clone's
		// config back for it.
		go func() { _ = cmd.Wait() }()
	} else if werr := cmd.Wait(); werr != nil {
		err = fmt.Errorf("%w (namespace setup: %w)", err, werr)
	}
	if err != nil {
		if pid > 0 {
			killWait(pid)
		}
		return nil, err
	}
	return &child{pid: pid, sock: parent, conn: syncmsg.New(parent)}, nil
}

// cgroupEntries tells the preamble where to go: each v1 hierarchy's
// directory, and the v2 one ("" in Paths) for clone3.
func cgroupEntries(cg cgroups.Manager) []nsenter.Cgroup {
	var out []nsenter.Cgroup
	for ctrl, dir := range cg.Paths() {
		if ctrl == "" {
			out = append(out, nsenter.Cgroup{Kind: nsenter.CgroupV2Dir, Path: dir})
		} else {
			out = append(out, nsenter.Cgroup{Kind: nsenter.CgroupTasks, Path: dir})
		}
	}
	return out
}

func handshake(cmd *exec.Cmd, sock *os.File, o *spawnOpts) (int, error) {
	msg, err := o.bootstrap.Encode()
	if err == nil {
		_, err = sock.Write(msg)
	}
	if err != nil {
		cmd.Process.Kill()
		return 0, fmt.Errorf("send bootstrap: %w", err)
	}
	for {
		r, err := nsenter.ReadReply(sock)
		if err != nil {
			cmd.Process.Kill()
			return 0, err
		}
		switch r.Type {
		case nsenter.MsgUsermap:
			if err := writeIDMaps(r.PID, o.uidMaps, o.gidMaps); err != nil {
				cmd.Process.Kill()
				return 0, err
			}
			if _, err := sock.Write(nsenter.UsermapAck()); err != nil {
				return 0, fmt.Errorf("ack id maps: %w", err)
			}
		case nsenter.MsgPID:
			return r.PID, nil
		case nsenter.MsgError:
			return 0, r.AsError()
		default:
			cmd.Process.Kill()
			return 0, fmt.Errorf("preamble: unexpected reply type %d", r.Type)
		}
	}
}

func writeIDMaps(pid int, uids, gids []specs.LinuxIDMapping) error {
	write := func(file string, maps []specs.LinuxIDMapping) error {
		var b strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		path := fmt.Sprintf("/proc/%d/%s", pid, file)
		if err := os.WriteFile(path, []byte(b.String()), 0); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err := write("uid_map", uids); err != nil {
		return err
	}
	return write("gid_map", gids)
}

// killWait kills a child of ours and reaps it.
func killWait(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	for {
		_, err := unix.Wait4(pid, nil, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

var nsFlags = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// procNames are the /proc/PID/ns entries of each namespace type.
var procNames = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// createBootstrap turns the config's namespaces into the preamble's message.
func createBootstrap(l *specs.Linux) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	if l == nil {
		return b
	}
	for _, ns := range l.Namespaces {
		switch {
		case ns.Type == specs.CgroupNamespace:
			// joined or unshared by the container process once it is in
			// its cgroup: see cgroupNSFile
		case ns.Path != "":
			b.Join = append(b.Join, nsenter.Join{Type: nsFlags[ns.Type], Path: ns.Path})
		default:
			b.CloneFlags |= nsFlags[ns.Type]
		}
	}
	var t strings.Builder
	for _, clock := range []string{"monotonic", "boottime"} {
		if off, ok := l.TimeOffsets[clock]; ok {
			fmt.Fprintf(&t, "%s %d %d\n", clock, off.Secs, off.Nanosecs)
		}
	}
	b.Timens = t.String()
	return b
}

// execBootstrap joins every namespace the container's init is in.
func execBootstrap(l *specs.Linux, initPid int) nsenter.Bootstrap {
	var b nsenter.Bootstrap
	if l == nil {
		return b
	}
	for _, ns := range l.Namespaces {
		if ns.Type == specs.CgroupNamespace {
			continue // see cgroupNSFile
		}
		b.Join = append(b.Join, nsenter.Join{
			Type: nsFlags[ns.Type],
			Path: fmt.Sprintf("/proc/%d/ns/%s", initPid, procNames[ns.Type]),
		})
	}
	return b
}

// cgroupNSFile opens the cgroup namespace a process must join, if any.
// The container process joins it itself, after the preamble has cloned it
// into its cgroup: with cgroup2's nsdelegate the kernel refuses
// CLONE_INTO_CGROUP for a process whose cgroup namespace does not contain
// its current cgroup. A new cgroup namespace is unshared at that same
// point (InitConfig.NewCgroupNS).
func cgroupNSFile(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cgroup namespace %s: %w", path, err)
	}
	return f, nil
}
