package pid1

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// openPTY returns a new pseudo-terminal's master and slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// syncBuffer collects what the terminal shows.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // Guarded by mu.
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// With a terminal on stdin the child leads its own process group, which is
// the terminal's foreground group, so Ctrl-C reaches it straight from the
// terminal. ctty says whether pier-init itself has the terminal as its
// controlling terminal (as under an OCI runtime) or none at all.
func TestTerminal(t *testing.T) {
	for _, ctty := range []bool{true, false} {
		t.Run("ctty="+strconv.FormatBool(ctty), func(t *testing.T) {
			master, slave := openPTY(t)
			cmd := exec.Command(testutil.Binary(t, "pier-init"), "--", "sh", "-c",
				`echo "STAT $(cat /proc/$$/stat)"; exec sleep 1000`)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: ctty, Ctty: 0}
			var screen syncBuffer
			go func() { _, _ = ioCopy(&screen, master) }()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				<-done
			})
			var child proc
			waitFor(t, 5*time.Second, func() bool {
				for _, line := range strings.Split(screen.String(), "\n") {
					if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "STAT "); ok {
						var parsed bool
						child, parsed = parseStat(rest)
						return parsed
					}
				}
				return false
			}, func() string { return "no STAT line on the terminal: " + strconv.Quote(screen.String()) })

			if child.pgrp != child.pid || child.tpgid != child.pgrp {
				t.Errorf("child pid %d pgrp %d, terminal's foreground group %d: want all equal", child.pid, child.pgrp, child.tpgid)
			}
			wantSession := cmd.Process.Pid // pier-init's session, the terminal's
			if !ctty {
				wantSession = child.pid // a session of its own
			}
			if child.session != wantSession {
				t.Errorf("child session %d, want %d", child.session, wantSession)
			}

			// Ctrl-C: the terminal sends SIGINT to the foreground group.
			if _, err := master.Write([]byte{3}); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				done <- err
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 130 {
					t.Errorf("after Ctrl-C pier-init ended with %v, want exit code 130", err)
				}
			case <-time.After(3 * time.Second):
				t.Errorf("Ctrl-C did not end the child")
			}
		})
	}
}

func ioCopy(dst *syncBuffer, src *os.File) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			_, _ = dst.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			return n, err
		}
	}
}
