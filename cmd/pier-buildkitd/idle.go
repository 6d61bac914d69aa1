package main

import (
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// trimAfter is how long no request may be open before the process gives
// the memory its builds used back to the kernel.
const trimAfter = 2 * time.Second

// idleTrim runs trim once no request has been open for after: a build
// leaves megabytes of garbage heap (solver state, progress, gRPC buffers)
// that the Go runtime returns only slowly, and pier-buildkitd sits idle
// between builds until its idle stop. A build keeps its /grpc connection
// (buildx) or its /build request (version 2) open throughout, so a build
// in progress is never trimmed. Sessions are not counted: BuildKit ends
// a client's /session only ~10 s after the build began, whether or not
// it is over. A session's end trims again once nothing is open: its
// goroutines and buffers (~2 MB after a few builds) are garbage only
// then.
type idleTrim struct {
	after time.Duration
	trim  func()

	mu sync.Mutex
	// open counts the requests being served. Guarded by mu.
	open int
	// timer fires the trim. Guarded by mu.
	timer *time.Timer
}

func newIdleTrim() *idleTrim { return &idleTrim{after: trimAfter, trim: debug.FreeOSMemory} }

func (t *idleTrim) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/session" {
			h.ServeHTTP(w, r) // returns when the session ends
			t.settle()
			return
		}
		t.begin()
		defer t.end()
		h.ServeHTTP(w, r)
	})
}

func (t *idleTrim) begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open++
	if t.timer != nil {
		t.timer.Stop()
	}
}

func (t *idleTrim) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open--; t.open > 0 {
		return
	}
	t.arm()
}

// settle arms the trim if no request is open.
func (t *idleTrim) settle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open == 0 {
		t.arm()
	}
}

// arm (re)starts the timer. Called with mu held.
func (t *idleTrim) arm() {
	if t.timer == nil {
		t.timer = time.AfterFunc(t.after, t.trim)
		return
	}
	t.timer.Reset(t.after)
}
