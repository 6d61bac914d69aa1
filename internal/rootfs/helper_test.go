package rootfs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// helperEnv names the file holding the helper's input; its presence makes
// the test binary act as a container init (see TestMain).
const helperEnv = "PIER_ROOTFS_HELPER"

type helperInput struct {
	Rootfs  string
	Spec    *specs.Spec
	NoPivot bool
	UserNS  bool     // take the userns path (devices bound) though we are real root
	Console bool     // make a pty and bind its slave as the console
	Probe   []string // paths to report on
	Write   []string // paths to try creating a file in
	// Contained: the caller's mount namespace is already a slave of the
	// host's, so the helper keeps / as it is (the propagation tests need
	// their shared mount to stay shared).
	Contained bool
	// MountAfter: after Finish, mount a tmpfs here, print "mounted" on a
	// line of its own, and wait for a line on stdin before reporting.
	MountAfter string
}

type probe struct {
	Exists  bool
	Mode    uint32
	Major   uint32
	Minor   uint32
	UID     uint32
	GID     uint32
	Link    string
	Content string
	Entries int
}

type helperReport struct {
	Mountinfo string
	Probes    map[string]probe
	Writes    map[string]string // path -> error ("" when the write worked)
}

func helperMain(input string) int {
	runtime.LockOSThread()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := os.ReadFile(input)
	if err != nil {
		return fail(err)
	}
	var in helperInput
	if err := json.Unmarshal(b, &in); err != nil {
		return fail(err)
	}
	// Backstop for the machine's sake: whatever Prepare does, nothing this
	// process mounts may ever propagate to the host.
	if !in.Contained {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			return fail(err)
		}
	}
	o := Options{Rootfs: in.Rootfs, Spec: in.Spec, NoPivot: in.NoPivot, UserNS: in.UserNS}
	if err := Prepare(o); err != nil {
		return fail(fmt.Errorf("prepare: %w", err))
	}
	if err := Pivot(o); err != nil {
		return fail(fmt.Errorf("pivot: %w", err))
	}
	if in.Console {
		if err := console(); err != nil {
			return fail(fmt.Errorf("console: %w", err))
		}
	}
	if err := Finish(o); err != nil {
		return fail(fmt.Errorf("finish: %w", err))
	}
	if in.MountAfter != "" {
		if err := unix.Mount("tmpfs", in.MountAfter, "tmpfs", 0, ""); err != nil {
			return fail(fmt.Errorf("mount tmpfs on %s: %w", in.MountAfter, err))
		}
		fmt.Println("mounted")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return fail(fmt.Errorf("wait for the caller: %w", err))
		}
	}
	rep := helperReport{Probes: map[string]probe{}, Writes: map[string]string{}}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fail(err)
	}
	rep.Mountinfo = string(mi)
	for _, p := range in.Probe {
		rep.Probes[p] = probePath(p)
	}
	for _, p := range in.Write {
		rep.Writes[p] = ""
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			rep.Writes[p] = err.Error()
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return fail(err)
	}
	return 0
}

func console() error {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		return err
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, ptmx.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("open /dev/pts/%d: %w", n, errno)
	}
	pty := os.NewFile(r, fmt.Sprintf("/dev/pts/%d", n))
	defer pty.Close()
	return BindConsole(pty)
}

func probePath(p string) probe {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return probe{}
	}
	pr := probe{Exists: true, Mode: st.Mode, Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev), UID: st.Uid, GID: st.Gid}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		pr.Link, _ = os.Readlink(p)
	case unix.S_IFREG:
		b, _ := os.ReadFile(p)
		if len(b) > 64 {
			b = b[:64]
		}
		pr.Content = string(b)
	case unix.S_IFDIR:
		ents, _ := os.ReadDir(p)
		pr.Entries = len(ents)
	}
	return pr
}
