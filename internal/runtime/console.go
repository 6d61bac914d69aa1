package runtime

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ConsoleProxy is the console socket `run` and `exec` make for themselves
// when a terminal is wanted and the caller gave none: it receives the pty
// master and copies it to and from our own stdio, with our terminal in raw
// mode.
type ConsoleProxy struct {
	dir      string
	Path     string
	ln       *net.UnixListener
	master   *os.File
	restore  *unix.Termios
	received chan error
}

// NewConsoleProxy listens on a fresh socket in a temp dir.
func NewConsoleProxy() (*ConsoleProxy, error) {
	dir, err := os.MkdirTemp("", "pier-console-")
	if err != nil {
		return nil, fmt.Errorf("console socket dir: %w", err)
	}
	c := &ConsoleProxy{dir: dir, Path: filepath.Join(dir, "console.sock"), received: make(chan error, 1)}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.Path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console socket %s: %w", c.Path, err)
	}
	c.ln = ln
	go func() { c.received <- c.receive() }()
	return c, nil
}

func (c *ConsoleProxy) receive() error {
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return fmt.Errorf("receive pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("receive pty master: no fd in message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("receive pty master: no fd in message")
	}
	c.master = os.NewFile(uintptr(fds[0]), "pty-master")
	return nil
}

// Attach starts copying once the master has arrived.
func (c *ConsoleProxy) Attach() error {
	if err := <-c.received; err != nil {
		return err
	}
	if t, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		c.restore = t
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		_ = unix.IoctlSetTermios(0, unix.TCSETS, &raw)
		c.Resize()
	}
	go func() { _, _ = io.Copy(c.master, os.Stdin) }()
	go func() { _, _ = io.Copy(os.Stdout, c.master) }()
	return nil
}

// Resize copies our terminal's size to the pty.
func (c *ConsoleProxy) Resize() {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil && c.master != nil {
		_ = unix.IoctlSetWinsize(int(c.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Restore puts our terminal back as it was.
func (c *ConsoleProxy) Restore() {
	if c.restore != nil {
		_ = unix.IoctlSetTermios(0, unix.TCSETS, c.restore)
	}
}

// Close stops listening and removes the socket.
func (c *ConsoleProxy) Close() {
	c.ln.Close()
	if c.master != nil {
		c.master.Close()
	}
	os.RemoveAll(c.dir)
}
