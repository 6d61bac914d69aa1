package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/errdefs"
)

// lockName is the lock file in a container's state directory.
const lockName = "state.lock"

// lock takes container id's lock, an exclusive flock on the lock file in
// its state directory, and returns its release. Every command that loads
// the record and then changes the container or saves the record holds it,
// so that two pier-runtime processes never interleave a load and a save
// (gVisor's runsc/container/state_file.go does the same). Reading the
// state needs no lock: a save replaces the file atomically.
//
// A container deleted while we waited is errdefs.ErrNotFound: delete
// removes the directory, lock file and all, while it holds the lock, so a
// waiter checks after the flock that its file is still the one at path.
func (r *Runtime) lock(id string) (func(), error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	path := filepath.Join(r.dir(id), lockName)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		same, err := flockStill(f, path)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if same {
			return func() { f.Close() }, nil // closing the last fd releases the flock
		}
		f.Close()
		if _, err := os.Stat(r.dir(id)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
		}
		// Deleted and made again meanwhile: lock the new one.
	}
}

// flockStill takes an exclusive flock on f and reports whether f is still
// the file at path.
func flockStill(f *os.File, path string) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return false, fmt.Errorf("flock: %w", err)
		}
	}
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return false, fmt.Errorf("fstat: %w", err)
	}
	if err := unix.Stat(path, &now); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("stat: %w", err)
	}
	return held.Dev == now.Dev && held.Ino == now.Ino, nil
}

// loadLocked takes id's lock and loads its record; the caller releases
// the lock.
func (r *Runtime) loadLocked(id string) (*Record, func(), error) {
	unlock, err := r.lock(id)
	if err != nil {
		return nil, nil, err
	}
	rec, err := r.load(id)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return rec, unlock, nil
}
