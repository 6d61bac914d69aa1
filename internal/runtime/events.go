package runtime

import (
	"fmt"
	"time"
)

// Event is one line of `events`, shaped like runc's.
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Events emits a stats event every interval and an oom event whenever the
// cgroup's OOM-kill counter grows, until the container stops. With once it
// emits a single stats event.
func (r *Runtime) Events(id string, once bool, interval time.Duration, emit func(any) error) error {
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	if err := can(opEvents, id, r.status(rec)); err != nil {
		return err
	}
	cg, err := r.cgroup(rec)
	if err != nil {
		return err
	}
	if interval <= 0 {
		return fmt.Errorf("--interval: must be positive, got %v", interval)
	}
	ooms, _ := cg.OOMKillCount()
	const poll = 100 * time.Millisecond
	next := time.Now()
	for {
		if time.Now().After(next) || once {
			st, err := cg.Stats()
			if err != nil {
				return fmt.Errorf("stats of %s: %w", id, err)
			}
			if err := emit(Event{Type: "stats", ID: id, Data: st}); err != nil || once {
				return err
			}
			next = next.Add(interval)
		}
		if n, err := cg.OOMKillCount(); err == nil && n > ooms {
			ooms = n
			if err := emit(Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		if r.status(rec) == StatusStopped {
			return nil
		}
		time.Sleep(poll)
	}
}
