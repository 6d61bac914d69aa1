package server

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

// TestListenUnixClaimed: at Docker's socket path, pier replaces only a
// socket it made itself; another program's socket, live or stale, and a
// plain file are refused and left in place.
func TestListenUnixClaimed(t *testing.T) {
	dir := t.TempDir()
	path, claim := filepath.Join(dir, "docker.sock"), filepath.Join(dir, "root", "docker-socket.claim")

	// Another program's live socket, then the same left stale.
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	other.(*net.UnixListener).SetUnlinkOnClose(false)
	if _, err := ListenUnixClaimed(path, -1, claim); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("a live foreign socket: %v", err)
	}
	other.Close()
	if _, err := ListenUnixClaimed(path, -1, claim); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("a stale foreign socket: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the foreign socket was touched: %v", err)
	}
	// A claim of pier's does not cover a foreign socket made later at the
	// same path.
	os.Remove(path)
	l, err := ListenUnixClaimed(path, -1, claim)
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // unlinks: a clean stop
	other, err = net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	other.(*net.UnixListener).SetUnlinkOnClose(false)
	other.Close()
	if _, err := ListenUnixClaimed(path, -1, claim); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("a foreign socket at a path pier once claimed: %v", err)
	}
	os.Remove(path)

	// pier's own socket, left by a crash (not unlinked), is replaced; while
	// it is live, it is refused.
	l, err = ListenUnixClaimed(path, -1, claim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnixClaimed(path, -1, claim); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("pier's live socket: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = ListenUnixClaimed(path, -1, claim)
	if err != nil {
		t.Fatalf("pier's stale socket: %v", err)
	}
	l.Close()

	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnixClaimed(path, -1, claim); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("a plain file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "x" {
		t.Errorf("the plain file was touched: %q, %v", b, err)
	}
}
