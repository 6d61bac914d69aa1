package server

import (
	"runtime/debug"
	"sync"
	"time"
)

// idleTrimAfter is how long the API must be quiet before the daemon gives
// the memory its last requests used back to the kernel. The Go runtime
// scavenges on its own only slowly, and an idle daemon is most of a
// daemon's life.
const idleTrimAfter = 2 * time.Second

// idleTrimmer runs trim once the requests have paused for a while.
type idleTrimmer struct {
	once  sync.Once
	timer *time.Timer
	trim  func()
}

// touch notes a request; the trim runs idleTrimAfter after the last one.
func (t *idleTrimmer) touch() {
	t.once.Do(func() {
		if t.trim == nil {
			t.trim = debug.FreeOSMemory
		}
		t.timer = time.AfterFunc(idleTrimAfter, t.trim)
	})
	t.timer.Reset(idleTrimAfter)
}
