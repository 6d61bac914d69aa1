package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// shortTemp is a temp dir whose socket paths fit sun_path's 108 bytes.
func shortTemp(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pier-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestListenUnix(t *testing.T) {
	path := filepath.Join(shortTemp(t), "run", "pier.sock")
	l, err := ListenUnix(path, os.Getgid())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != SocketMode {
		t.Errorf("socket mode = %v, want socket %v", fi.Mode(), SocketMode)
	}

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- New(Config{Backend: &fakeBackend{}, Version: "1"}).Serve(ctx, l) }()

	// A live daemon on the socket: a second one must not steal it.
	if _, err := ListenUnix(path, -1); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second ListenUnix on a live socket: %v, want ErrAlreadyExists", err)
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://pier/_ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("ping over the socket = %d", resp.StatusCode)
	}
	c.CloseIdleConnections()

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

func TestListenUnixStale(t *testing.T) {
	path := filepath.Join(shortTemp(t), "pier.sock")
	// A socket file nobody listens on, as a killed daemon leaves it.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := ListenUnix(path, -1)
	if err != nil {
		t.Fatalf("ListenUnix over a stale socket: %v", err)
	}
	l2.Close()
}

func TestListenUnixNotSocket(t *testing.T) {
	path := filepath.Join(shortTemp(t), "pier.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path, -1); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("ListenUnix over a regular file: %v, want ErrAlreadyExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("regular file at the socket path was changed")
	}
}

// TestListenUnixNeverOpen looks at the socket between bind and chmod,
// under a umask of 0: it must already refuse group and others.
func TestListenUnixNeverOpen(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	var seen os.FileMode
	afterBind = func(path string) {
		if fi, err := os.Stat(path); err == nil {
			seen = fi.Mode().Perm()
		}
	}
	defer func() { afterBind = nil }()
	l, err := ListenUnix(filepath.Join(shortTemp(t), "pier.sock"), -1)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if seen == 0 || seen&0o077 != 0 {
		t.Fatalf("socket mode right after bind = %v, want 0600", seen)
	}
}
