package runtime

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

// operation is a command that acts on a container.
type operation string

const (
	opStart  operation = "start"
	opKill   operation = "kill"
	opDelete operation = "delete"
	opPause  operation = "pause"
	opResume operation = "resume"
	opExec   operation = "exec in"
	opUpdate operation = "update"
	opEvents operation = "watch"
)

// rule is which statuses an operation is allowed in, and the error kind
// of a refusal: refused, or stopped when the container has stopped.
type rule struct {
	allowed []specs.ContainerState
	refused error
	stopped error
}

// lifecycle is every rule of the OCI lifecycle in one table (youki's
// state.rs keeps them in one place too):
//
//	          creating  created  running  paused  stopped
//	start        -         ✓        -        -       -
//	kill         -         ✓        ✓        ✓     (--all)
//	delete       -         -        -        -       ✓    (-f kills first)
//	pause        -         ✓        ✓        -       -
//	resume       -         -        -        ✓       -
//	exec         -         ✓        ✓        -       -
//	update       ✓         ✓        ✓        ✓       -
//	events       ✓         ✓        ✓        ✓       -
var lifecycle = map[operation]rule{
	opStart:  {allowed: statuses(StatusCreated), refused: errdefs.ErrConflict},
	opKill:   {allowed: statuses(StatusCreated, StatusRunning, StatusPaused), refused: errdefs.ErrConflict, stopped: errdefs.ErrNotRunning},
	opDelete: {allowed: statuses(StatusStopped), refused: errdefs.ErrConflict},
	opPause:  {allowed: statuses(StatusCreated, StatusRunning), refused: errdefs.ErrNotRunning},
	opResume: {allowed: statuses(StatusPaused), refused: errdefs.ErrConflict},
	opExec:   {allowed: statuses(StatusCreated, StatusRunning), refused: errdefs.ErrConflict},
	opUpdate: {allowed: statuses(StatusCreating, StatusCreated, StatusRunning, StatusPaused), refused: errdefs.ErrNotRunning},
	opEvents: {allowed: statuses(StatusCreating, StatusCreated, StatusRunning, StatusPaused), refused: errdefs.ErrNotRunning},
}

func statuses(s ...specs.ContainerState) []specs.ContainerState { return s }

// can reports whether a container in status st allows op: nil, or an
// error of the rule's kind that names the status and the allowed ones
// ("cannot start container c1: it is stopped, not created").
func can(op operation, id string, st specs.ContainerState) error {
	r, ok := lifecycle[op]
	if !ok {
		panic("runtime: no lifecycle rule for " + string(op))
	}
	if slices.Contains(r.allowed, st) {
		return nil
	}
	kind := r.refused
	if st == StatusStopped && r.stopped != nil {
		kind = r.stopped
	}
	names := make([]string, len(r.allowed))
	for i, a := range r.allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("cannot %s container %s: it is %s, not %s: %w", op, id, st, strings.Join(names, " or "), kind)
}
