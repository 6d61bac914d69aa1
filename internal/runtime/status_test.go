package runtime

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestLifecycleTable(t *testing.T) {
	all := []specs.ContainerState{StatusCreating, StatusCreated, StatusRunning, StatusPaused, StatusStopped}
	// want[op] lists, per status in the order of all, "" for allowed or
	// the kind of the refusal.
	const ok, conflict, notRunning = "", "conflict", "not running"
	want := map[operation][5]string{
		opStart:  {conflict, ok, conflict, conflict, conflict},
		opKill:   {conflict, ok, ok, ok, notRunning},
		opDelete: {conflict, conflict, conflict, conflict, ok},
		opPause:  {notRunning, ok, ok, notRunning, notRunning},
		opResume: {conflict, conflict, conflict, ok, conflict},
		opExec:   {conflict, ok, ok, conflict, conflict},
		opUpdate: {ok, ok, ok, ok, notRunning},
		opEvents: {ok, ok, ok, ok, notRunning},
	}
	if len(want) != len(lifecycle) {
		t.Errorf("table has %d operations, the test %d", len(lifecycle), len(want))
	}
	kinds := map[string]error{conflict: errdefs.ErrConflict, notRunning: errdefs.ErrNotRunning}
	for op, row := range want {
		for i, st := range all {
			err := can(op, "c1", st)
			switch {
			case row[i] == ok && err != nil:
				t.Errorf("%s when %s: %v, want allowed", op, st, err)
			case row[i] != ok && !errors.Is(err, kinds[row[i]]):
				t.Errorf("%s when %s: %v, want %s", op, st, err, row[i])
			}
		}
	}
	// The message names the status and what was needed, as runc's users
	// (and the root tests) read it.
	for _, c := range []struct {
		op   operation
		st   specs.ContainerState
		want string
	}{
		{opStart, StatusStopped, "cannot start container c1: it is stopped, not created"},
		{opDelete, StatusRunning, "it is running, not stopped"},
		{opResume, StatusRunning, "it is running, not paused"},
		{opExec, StatusPaused, "cannot exec in container c1: it is paused, not created or running"},
	} {
		if err := can(c.op, "c1", c.st); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s when %s: %v, want %q", c.op, c.st, err, c.want)
		}
	}
}

func TestCleanupJoinsErrors(t *testing.T) {
	var undo cleanup
	var order []string
	undo.Add(func() error { order = append(order, "first"); return errors.New("rmdir busy") })
	undo.Add(func() error { order = append(order, "second"); return nil })
	undo.Add(func() error { order = append(order, "third"); return errdefs.ErrNotFound })
	err := undo.Run()
	if strings.Join(order, " ") != "third second first" {
		t.Errorf("undo order %v, want newest first", order)
	}
	if err == nil || !strings.Contains(err.Error(), "undo: rmdir busy") || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("undo error = %v, want both failures", err)
	}
	if err := undo.Run(); err != nil {
		t.Errorf("second run: %v", err)
	}
	undo.Add(func() error { return errors.New("x") })
	undo.Release()
	if err := undo.Run(); err != nil {
		t.Errorf("after release: %v", err)
	}
}
