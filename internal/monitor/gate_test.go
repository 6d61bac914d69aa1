package monitor

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// waitGateAsync runs waitGate on path and returns its result channel.
func waitGateAsync(path string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- waitGate(path) }()
	return done
}

// TestStartGateOpens: the monitor waits at the gate until pierd opens
// it, and then goes on.
func TestStartGateOpens(t *testing.T) {
	g, err := NewStartGate(filepath.Join(t.TempDir(), "start.gate"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	done := waitGateAsync(g.Path())
	select {
	case err := <-done:
		t.Fatalf("the gate let the start through before it was opened: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("opened gate: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the gate was opened but the wait did not end")
	}
}

// TestStartGateOpenedBeforeWait: a byte written before the monitor
// opens the FIFO is not lost while pierd holds its end.
func TestStartGateOpenedBeforeWait(t *testing.T) {
	g, err := NewStartGate(filepath.Join(t.TempDir(), "start.gate"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	if err := waitGate(g.Path()); err != nil {
		t.Fatalf("gate opened before the wait: %v", err)
	}
}

// TestStartGateClosed: a gate closed without being opened (the network
// failed, or pierd died) fails the start at once, whether the monitor
// waits at it already or comes to it later.
func TestStartGateClosed(t *testing.T) {
	g, err := NewStartGate(filepath.Join(t.TempDir(), "start.gate"))
	if err != nil {
		t.Fatal(err)
	}
	done := waitGateAsync(g.Path())
	time.Sleep(50 * time.Millisecond)
	g.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errGateClosed) {
			t.Fatalf("closed while waiting: got %v, want errGateClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the gate was closed but the wait did not end")
	}
	if err := waitGate(g.Path()); err == nil {
		t.Fatal("a gate closed before the wait let the start through")
	}
}
