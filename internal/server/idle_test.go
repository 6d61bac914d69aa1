package server

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestIdleTrimRunsOnceAfterQuiet(t *testing.T) {
	var n atomic.Int32
	tr := idleTrimmer{trim: func() { n.Add(1) }}
	for range 5 {
		tr.touch()
		time.Sleep(10 * time.Millisecond)
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("trimmed %d times while requests kept coming", got)
	}
	deadline := time.Now().Add(idleTrimAfter + 2*time.Second)
	for n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("trimmed %d times after the quiet period, want 1", got)
	}
}
