package builder

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Synced build contexts: pier's own CLI keeps a copy of a context
// directory in pierd and, on each build, sends only what changed, the
// way BuildKit's file sync does (docker CLIs still send the whole tar).
//
//	pier build                               pierd
//	  POST /build/context {key, files: stat} --> diff against the key's
//	                                             current generation
//	  <-- {session, need: [paths]}
//	  POST /build  X-Pier-Context: session
//	  body: tar of the needed files only      --> new generation: unchanged
//	                                             files hard-linked from the
//	                                             old one, the rest written,
//	                                             .dockerignore applied,
//	                                             then published; the build
//	                                             runs on it
//
// A generation is a directory nobody writes in place once it is
// published: a changed file is a new inode in a new generation, so a
// build always sees one consistent snapshot and the content hashes of a
// generation's files (computed by pierd as they arrive, never taken from
// the client) carry over with their links. A sync that fails half-way
// (a client gone, a bad tar) removes its unpublished generation; the
// key's current one is untouched. Generations live until pierd stops
// using them; pierd removes them all when it starts (the hashes are in
// memory only).

// SyncFile is one entry of a context listing: its path in the context
// (slash separated, relative, clean) and its stat data.
type SyncFile struct {
	Path  string `json:"path"`
	Mode  uint32 `json:"mode"` // st_mode: the type and permission bits
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"` // nanoseconds since the epoch
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Link  string `json:"link,omitempty"` // a symlink's target
}

// SyncRequest is the body of POST /build/context: the client's key for
// its context (64 hex digits; pier's CLI hashes the host and the
// directory) and the whole listing, .dockerignore applied.
type SyncRequest struct {
	Key   string     `json:"key"`
	Files []SyncFile `json:"files"`
}

// SyncReply names the session that a following POST /build refers to
// (header X-Pier-Context) and the regular files whose content it must
// carry, as a tar.
type SyncReply struct {
	Session string   `json:"session"`
	Need    []string `json:"need"`
}

// The st_mode file types a listing may hold.
const (
	modeType = 0o170000
	modeDir  = 0o040000
	modeReg  = 0o100000
	modeLink = 0o120000
)

// Limits of what synced contexts keep; the least recently used context
// not in use goes first.
const (
	syncMaxKeys  = 16
	syncMaxBytes = 2 << 30
	sessionTTL   = time.Minute
)

var keyPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Contexts holds the synced build contexts under one directory.
type Contexts struct {
	dir  string
	root *os.Root // dir: generations link into each other through it

	mu       sync.Mutex
	keys     map[string]*syncedKey   // Guarded by mu.
	sessions map[string]*syncSession // Guarded by mu.
	maxKeys  int                     // Guarded by mu.
	maxBytes int64                   // Guarded by mu.

	received atomic.Int64 // bytes of file content received, ever
}

type syncedKey struct {
	cur  *generation
	used time.Time
}

// generation is one synced copy of a context.
type generation struct {
	key   string
	name  string // directory under Contexts.dir
	files map[string]syncEntry
	size  int64
	// refs counts the sessions and builds using it; current is set while
	// it is its key's newest. It is removed when neither holds.
	refs    int  // Guarded by Contexts.mu.
	current bool // Guarded by Contexts.mu.
}

type syncEntry struct {
	SyncFile
	sum string // sha256 hex of a regular file, computed by pierd
}

type syncSession struct {
	key     string
	base    *generation // nil: nothing synced yet; a ref is held
	files   []SyncFile  // sorted, validated
	need    map[string]bool
	expires time.Time
}

// OpenContexts opens the synced contexts kept in dir, removing what an
// earlier pierd left there (their hashes were in its memory).
func OpenContexts(dir string) (*Contexts, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("synced contexts: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("synced contexts: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("synced contexts: %w", err)
	}
	return &Contexts{dir: dir, root: root, keys: map[string]*syncedKey{}, sessions: map[string]*syncSession{},
		maxKeys: syncMaxKeys, maxBytes: syncMaxBytes}, nil
}

// Received is how many bytes of file content syncs have received.
func (c *Contexts) Received() int64 { return c.received.Load() }

// Diff starts a sync: it checks the listing and answers which regular
// files differ (by stat) from the key's current generation.
func (c *Contexts) Diff(req SyncRequest) (SyncReply, error) {
	if !keyPattern.MatchString(req.Key) {
		return SyncReply{}, invalidf("build context key %q: want 64 hex digits", req.Key)
	}
	files, err := checkListing(req.Files)
	if err != nil {
		return SyncReply{}, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(time.Now())
	s := &syncSession{key: req.Key, files: files, need: map[string]bool{}, expires: time.Now().Add(sessionTTL)}
	if k := c.keys[req.Key]; k != nil {
		s.base = k.cur
		s.base.refs++
	}
	reply := SyncReply{Session: id, Need: []string{}}
	for _, f := range files {
		if f.Mode&modeType != modeReg {
			continue
		}
		if s.base != nil {
			if e, ok := s.base.files[f.Path]; ok && e.SyncFile == f {
				continue
			}
		}
		s.need[f.Path] = true
		reply.Need = append(reply.Need, f.Path)
	}
	c.sessions[id] = s
	return reply, nil
}

// take removes session id for the build that uses it.
func (c *Contexts) take(id string) (*syncSession, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(time.Now())
	s := c.sessions[id]
	if s == nil {
		return nil, invalidf("build context session %q is unknown or expired: sync the context again", id)
	}
	delete(c.sessions, id)
	return s, nil
}

// expireLocked drops the sessions no build came for.
func (c *Contexts) expireLocked(now time.Time) {
	for id, s := range c.sessions {
		if now.After(s.expires) {
			delete(c.sessions, id)
			c.releaseLocked(s.base)
		}
	}
}

// publish makes g its key's current generation, holding a ref for the
// build that made it, and evicts what is over the limits.
func (c *Contexts) publish(g *generation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.keys[g.key]
	if k == nil {
		k = &syncedKey{}
		c.keys[g.key] = k
	}
	g.size = 0
	for _, e := range g.files {
		if e.Mode&modeType == modeReg {
			g.size += e.Size
		}
	}
	old := k.cur
	k.cur, k.used = g, time.Now()
	g.current = true
	g.refs++
	if old != nil {
		old.current = false
		c.dropLocked(old)
	}
	c.evictLocked()
}

// release gives back a ref on g (nil: none).
func (c *Contexts) release(g *generation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(g)
}

func (c *Contexts) releaseLocked(g *generation) {
	if g == nil {
		return
	}
	g.refs--
	c.dropLocked(g)
}

// dropLocked removes g's directory once nothing uses it.
func (c *Contexts) dropLocked(g *generation) {
	if g.refs > 0 || g.current {
		return
	}
	// Unlinking is quick and keeps the directory's state simple: a
	// removal never races a new generation linking from g, since a
	// session holds a ref on its base.
	_ = c.root.RemoveAll(g.name)
}

// evictLocked forgets the least recently used keys not in use while
// there are more than maxKeys or their files exceed maxBytes.
func (c *Contexts) evictLocked() {
	type kv struct {
		key string
		k   *syncedKey
	}
	var all []kv
	var total int64
	for key, k := range c.keys {
		all = append(all, kv{key, k})
		total += k.cur.size
	}
	slices.SortFunc(all, func(a, b kv) int { return a.k.used.Compare(b.k.used) })
	for _, e := range all {
		if len(c.keys) <= c.maxKeys && total <= c.maxBytes {
			return
		}
		if e.k.cur.refs > 0 {
			continue
		}
		total -= e.k.cur.size
		c.forgetLocked(e.key)
	}
}

func (c *Contexts) forgetLocked(key string) {
	k := c.keys[key]
	delete(c.keys, key)
	k.cur.current = false
	c.dropLocked(k.cur)
}

// Prune forgets every synced context no build uses now (builder prune,
// system prune) and returns how many went and their bytes.
func (c *Contexts) Prune() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, size := 0, int64(0)
	for key, k := range c.keys {
		if k.cur.refs > 0 {
			continue
		}
		n, size = n+1, size+k.cur.size
		c.forgetLocked(key)
	}
	return n, size
}

// Usage is the number of synced contexts and their files' bytes.
func (c *Contexts) Usage() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var size int64
	for _, k := range c.keys {
		size += k.cur.size
	}
	return len(c.keys), size
}

// Close releases the directory handle.
func (c *Contexts) Close() error { return c.root.Close() }

func (c *Contexts) path(g *generation) string { return filepath.Join(c.dir, g.name) }
