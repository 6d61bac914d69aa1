package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// lockHelperEnv makes the test binary a helper process of
// TestLockSerialisesCommands: "ROOT ID N" increments ID's recorded pid N
// times, each a load and a save under the lock, as a command does.
const lockHelperEnv = "PIER_RUNTIME_LOCK_HELPER"

func TestLockHelperProcess(t *testing.T) {
	arg := os.Getenv(lockHelperEnv)
	if arg == "" {
		return // not a helper: the test is TestLockSerialisesCommands
	}
	var root, id string
	var n int
	if _, err := fmt.Sscan(arg, &root, &id, &n); err != nil {
		t.Fatal(err)
	}
	r := &Runtime{Root: root}
	for range n {
		if err := r.increment(id); err != nil {
			t.Fatal(err)
		}
	}
}

// increment is a command's load and save under the lock, with time
// between them for another to interleave if it could.
func (r *Runtime) increment(id string) error {
	rec, unlock, err := r.loadLocked(id)
	if err != nil {
		return err
	}
	defer unlock()
	time.Sleep(200 * time.Microsecond)
	rec.Pid++
	return r.save(rec)
}

func newStateDir(t *testing.T) (*Runtime, string) {
	t.Helper()
	r, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "c1"
	if err := os.Mkdir(r.dir(id), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := r.save(&Record{ID: id}); err != nil {
		t.Fatal(err)
	}
	return r, id
}

func TestLockSerialisesCommands(t *testing.T) {
	r, id := newStateDir(t)
	const procs, each = 6, 15
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", lockHelperEnv, r.Root, id, each))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process takes part too, through another open file of the lock.
	for range each {
		if err := r.increment(id); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	rec, err := r.load(id)
	if err != nil {
		t.Fatal(err)
	}
	if want := (procs + 1) * each; rec.Pid != want {
		t.Errorf("after %d locked increments the record says %d: a save was lost", want, rec.Pid)
	}
}

func TestLockOfDeletedContainer(t *testing.T) {
	r, id := newStateDir(t)
	unlock, err := r.lock(id)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, u, err := r.loadLocked(id)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // the waiter blocks in flock
	select {
	case err := <-got:
		t.Fatalf("second lock taken while the first is held: %v", err)
	default:
	}
	// Delete, as delete does: the directory goes while the lock is held.
	if err := os.RemoveAll(r.dir(id)); err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := <-got; !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("lock after delete: %v, want ErrNotFound", err)
	}
	// A container made again under the same id is locked afresh.
	if err := os.Mkdir(r.dir(id), 0o711); err != nil {
		t.Fatal(err)
	}
	unlock, err = r.lock(id)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := r.lock("../x"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("lock of a bad id: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.dir(id), lockName)); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
