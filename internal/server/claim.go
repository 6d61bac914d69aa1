package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/sys"
)

// ListenUnixClaimed is ListenUnix for a path that other programs use too,
// Docker's socket: whatever is at path is replaced only when the claim
// file says pier made it (a pierd that crashed left it), never another
// program's socket, live or not, nor any other file. Having listened, it
// records the new socket's identity (device, inode, change time) in
// claim.
func ListenUnixClaimed(path string, gid int, claim string) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("stat %s: %w", path, err)
	case !claimed(fi, claim):
		return nil, fmt.Errorf("%s exists and pier did not make it (Docker's own socket?): not replacing it; stop and remove what is there, or leave docker-socket off: %w", path, errdefs.ErrAlreadyExists)
	}
	l, err := ListenUnix(path, gid)
	if err != nil {
		return nil, err
	}
	if err := writeClaim(path, claim); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// socketID is what tells a socket file apart from any other made at the
// same path later: an inode number alone may be reused.
func socketID(fi os.FileInfo) string {
	dev, ino, _, ok := sys.Inode(fi)
	ctime, ok2 := sys.ChangeTime(fi)
	if !ok || !ok2 {
		return ""
	}
	return fmt.Sprintf("%d %d %d", dev, ino, ctime.UnixNano())
}

// claimed reports whether claim records the socket fi as pier's.
func claimed(fi os.FileInfo, claim string) bool {
	b, err := os.ReadFile(claim)
	id := socketID(fi)
	return err == nil && id != "" && fi.Mode()&os.ModeSocket != 0 && strings.TrimSpace(string(b)) == id
}

func writeClaim(path, claim string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(claim), 0o700); err != nil {
		return fmt.Errorf("claim of %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(claim, []byte(socketID(fi)+"\n"), 0o600); err != nil {
		return fmt.Errorf("claim of %s: %w", path, err)
	}
	return nil
}
