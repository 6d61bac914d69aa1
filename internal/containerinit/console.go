package containerinit

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole makes a pty in the container's devpts, hands the master to
// whoever listens on the console socket (runc's protocol: the pty's name as
// data, the fd as SCM_RIGHTS), and makes the slave this process's
// controlling terminal and stdio. It returns the slave, close-on-exec, for
// the bind onto /dev/console; the caller closes it.
func setupConsole(sockFd int, size *specs.Box) (*os.File, error) {
	if sockFd < 0 {
		return nil, fmt.Errorf("process.terminal: no console socket")
	}
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("pty number: %w", err)
	}
	pts := fmt.Sprintf("/dev/pts/%d", n)
	// TIOCGPTPEER opens the slave through the master, so a path swapped
	// under /dev/pts cannot hand us another file.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return nil, fmt.Errorf("open %s: %w", pts, errno)
	}
	slave := int(r)
	pty := os.NewFile(r, pts)
	ok := false
	defer func() {
		if !ok {
			pty.Close()
		}
	}()
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			return nil, fmt.Errorf("set console size: %w", err)
		}
	}
	if err := unix.Sendmsg(sockFd, []byte(pts), unix.UnixRights(master), nil, 0); err != nil {
		return nil, fmt.Errorf("send pty master to console socket: %w", err)
	}
	unix.Close(sockFd)
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return nil, fmt.Errorf("make %s the controlling terminal: %w", pts, err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return nil, fmt.Errorf("dup %s to fd %d: %w", pts, fd, err)
		}
	}
	ok = true
	return pty, nil
}
