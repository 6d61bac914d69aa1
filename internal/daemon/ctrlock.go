package daemon

import "sync"

// ctrLocks serialise what changes one container's run (start, pause,
// unpause, update, a temporary mount for export or cp) without making
// different containers wait for each other: 50 concurrent starts must
// not queue behind one lock.
type ctrLocks struct {
	mu    sync.Mutex
	locks map[string]*ctrLock // Guarded by mu.
}

type ctrLock struct {
	sync.Mutex
	refs int // Guarded by ctrLocks.mu.
}

// lockContainer locks container id and returns the unlock.
func (d *Daemon) lockContainer(id string) func() {
	c := &d.ctrLocks
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[string]*ctrLock{}
	}
	l, ok := c.locks[id]
	if !ok {
		l = &ctrLock{}
		c.locks[id] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.locks, id)
		}
		c.mu.Unlock()
	}
}

// lookupLocked finds ref, locks it and reads its record again under the
// lock, so the caller acts on the state it sees.
func (d *Daemon) lookupLocked(ref string) (containerRecord, func(), error) {
	r, err := d.lookup(ref)
	if err != nil {
		return r, nil, err
	}
	unlock := d.lockContainer(r.ID)
	if err := d.md.Get(containerKind, r.ID, &r); err != nil {
		unlock()
		return r, nil, err
	}
	return r, unlock, nil
}
