package monitor

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWaitReady: the wait ends at the pipe's EOF, as soon as the last
// writer closes (an event, not a poll), and at the timeout while a writer
// holds it; without a pipe there is nothing to wait for.
func TestWaitReady(t *testing.T) {
	if err := (&Monitor{}).WaitReady(time.Second); err != nil {
		t.Errorf("no pipe: %v", err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &Monitor{ready: r}
	closed := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		closed <- time.Now()
		w.Close()
	}()
	if err := m.WaitReady(5 * time.Second); err != nil {
		t.Fatalf("EOF: %v", err)
	}
	if lag := time.Since(<-closed); lag > 40*time.Millisecond {
		t.Errorf("returned %v after the writer closed", lag)
	}
	if m.ready != nil {
		t.Error("the read end is kept after the wait")
	}

	r, w, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m = &Monitor{ready: r}
	start := time.Now()
	if err := m.WaitReady(100 * time.Millisecond); err == nil {
		t.Error("a writer still open: no error")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %v, want ~100ms", d)
	}
}

// TestWaitReadyDoesNotPoll: a wait of 300 ms costs the process almost no
// CPU. The /proc polling it replaces read three files every 0.5 ms.
func TestWaitReadyDoesNotPoll(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(300 * time.Millisecond); w.Close() }()
	before := cpuTime(t)
	if err := (&Monitor{ready: r}).WaitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if used := cpuTime(t) - before; used > 15*time.Millisecond {
		t.Errorf("a 300 ms wait used %v of CPU", used)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
