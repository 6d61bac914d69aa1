package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/sys"
)

// SocketMode lets the owner and the socket's group use the API.
const SocketMode os.FileMode = 0o660

// ListenUnix creates the API socket at path with SocketMode, owned by gid
// (unchanged when gid < 0). A socket file left by a daemon that died is
// replaced; one that a live daemon answers on is refused with
// ErrAlreadyExists, and a path that is not a socket is never removed.
func ListenUnix(path string, gid int) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket dir: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := listenPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if afterBind != nil {
		afterBind(path)
	}
	if err := os.Chmod(path, SocketMode); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("chown %s to group %d: %w", path, gid, err)
		}
	}
	return l, nil
}

// afterBind, when a test sets it, sees the socket between bind and chmod.
var afterBind func(path string)

// umaskMu serialises the process-wide umask change of listenPrivate.
var umaskMu sync.Mutex

// listenPrivate binds the socket under umask 0177, so that it is created
// with mode 0600: with the usual umask (022) it would be 0755, which lets
// any local user connect (connecting needs write permission) in the
// moment before the chmod to SocketMode. The umask is the process's;
// ListenUnix runs at start, before pierd makes other files.
func listenPrivate(path string) (net.Listener, error) {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := sys.Umask(0o177)
	defer sys.Umask(old)
	return net.Listen("unix", path)
}

func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: %w", path, errdefs.ErrAlreadyExists)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: another daemon is listening on it: %w", path, errdefs.ErrAlreadyExists)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
