package daemon

import (
	"errors"
	"os"
	"sync"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/metadata"
)

// ctrIndex keeps what a lookup by name or id prefix, and the choice of a
// new container's name, need of each container's record: its name and
// whether it is a CRI container's. Each entry is checked against a stat
// of its record's file (every record write is a new file: a rename), so
// a scan of all containers decodes only the records written since the
// last scan, not every one: 50 concurrent creates, each claiming a name
// under the daemon's name lock, decoded ~1250 records (and serialised on
// those reads) where they now stat them.
type ctrIndex struct {
	mu sync.Mutex
	m  map[string]ctrIndexEntry // by id. Guarded by mu.
}

// ctrIndexEntry is one container's record as the index knows it.
type ctrIndexEntry struct {
	id, name string
	cri      bool
	stat     os.FileInfo // of the record's file when it was decoded
}

// entries returns every container's entry, reading only the records that
// changed since they were last read.
func (x *ctrIndex) entries(md *metadata.Store) ([]ctrIndexEntry, error) {
	ids, err := md.List(containerKind)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]ctrIndexEntry{}
	}
	seen := make(map[string]bool, len(ids))
	out := make([]ctrIndexEntry, 0, len(ids))
	for _, id := range ids {
		e, ok, err := x.entry(md, id)
		if err != nil {
			return nil, err
		}
		if ok {
			seen[id] = true
			out = append(out, e)
		}
	}
	for id := range x.m {
		if !seen[id] {
			delete(x.m, id)
		}
	}
	return out, nil
}

// entry is container id's entry, read again if its record changed; ok
// false says the record is gone. x.mu is held.
func (x *ctrIndex) entry(md *metadata.Store, id string) (e ctrIndexEntry, ok bool, err error) {
	fi, err := md.Stat(containerKind, id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return e, false, nil // removed meanwhile
	}
	if err != nil {
		return e, false, err
	}
	if c, ok := x.m[id]; ok && sameFile(c.stat, fi) {
		return c, true, nil
	}
	var r containerRecord
	if err := md.Get(containerKind, id, &r); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return e, false, nil
		}
		return e, false, err
	}
	// Stat before the read: a write in between makes the next scan read
	// the record again, never keep a stale name.
	e = ctrIndexEntry{id: id, name: r.Name, cri: isCRI(r), stat: fi}
	x.m[id] = e
	return e, true, nil
}
