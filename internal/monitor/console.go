package monitor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Console is a console socket: a runtime given its Path (--console-socket)
// sends the pty master of a process whose spec asks for a terminal, as
// runc defines it (the pty's name as data, the fd as SCM_RIGHTS). It lives
// in a fresh temp dir so that its path stays short.
type Console struct {
	Path string
	dir  string
	ln   *net.UnixListener
}

// NewConsole listens on a new console socket.
func NewConsole() (*Console, error) {
	dir, err := os.MkdirTemp("", "pier-console-")
	if err != nil {
		return nil, fmt.Errorf("console socket dir: %w", err)
	}
	c := &Console{Path: filepath.Join(dir, "console.sock"), dir: dir}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.Path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console socket %s: %w", c.Path, err)
	}
	c.ln = ln
	return c, nil
}

// Receive waits up to timeout for the runtime to send the master; Close
// ends the wait early. The master comes back non-blocking, so that Close
// of the *os.File interrupts a Read.
func (c *Console) Receive(timeout time.Duration) (*os.File, error) {
	_ = c.ln.SetDeadline(time.Now().Add(timeout))
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", c.Path, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 128)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receive pty master: %d fds in the message, want 1", len(fds))
	}
	unix.CloseOnExec(fds[0])
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("pty master: set non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// Close stops listening and removes the socket's dir.
func (c *Console) Close() {
	c.ln.Close()
	os.RemoveAll(c.dir)
}

// Resize sets the window size of the pty whose master is f; the kernel
// sends SIGWINCH to the terminal's foreground process group.
func Resize(f *os.File, rows, cols uint16) error {
	ws := &unix.Winsize{Row: rows, Col: cols}
	// Not f.Fd(): it would make the master blocking again.
	rc, err := f.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("resize pty to %dx%d: %w", rows, cols, err)
	}
	return nil
}

// maxSunPath is what fits in sockaddr_un's sun_path with its NUL.
const maxSunPath = 107

// shortPath calls fn with a name for path that fits in sun_path: path
// itself, or /proc/self/fd/N/BASE through an O_PATH fd of its dir (a
// daemon root plus a 64-digit id can be too long).
func shortPath(path string, fn func(name string) error) error {
	if len(path) <= maxSunPath {
		return fn(path)
	}
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", filepath.Dir(path), err)
	}
	defer unix.Close(dir)
	return fn("/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path))
}

// listenUnix listens on path, mode 0600.
func listenUnix(path string) (*net.UnixListener, error) {
	_ = os.Remove(path)
	var ln *net.UnixListener
	err := shortPath(path, func(name string) error {
		var err error
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The name may be the /proc one: unlink by the real path ourselves.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// dialUnix connects to the socket at path.
func dialUnix(path string) (*net.UnixConn, error) {
	var conn *net.UnixConn
	err := shortPath(path, func(name string) error {
		var err error
		conn, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: name, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return conn, nil
}
