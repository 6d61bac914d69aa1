package logfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// follow runs a following Read in the background and delivers its entries.
type follow struct {
	entries chan Entry
	err     chan error
}

func startFollow(ctx context.Context, path string, opts ReadOptions) *follow {
	f := &follow{entries: make(chan Entry, 10000), err: make(chan error, 1)}
	opts.Follow = true
	go func() {
		f.err <- Read(ctx, path, opts, func(e Entry) error {
			f.entries <- e
			return nil
		})
		close(f.entries)
	}()
	return f
}

func (f *follow) next(t *testing.T) Entry {
	t.Helper()
	select {
	case e := <-f.entries:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no entry within 5s")
		return Entry{}
	}
}

func (f *follow) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.err:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return within 5s")
		return nil
	}
}

func TestFollowSeesNewLines(t *testing.T) {
	w, path := openTest(t, Options{})
	writeNumbered(t, w, "stdout", "l", 0, 1)
	done := make(chan struct{})
	f := startFollow(context.Background(), path, ReadOptions{Tail: -1, Done: done})
	if got := string(f.next(t).Line); got != "l 0\n" {
		t.Fatalf("first entry %q", got)
	}
	for i := 1; i < 4; i++ {
		writeNumbered(t, w, "stderr", "l", i, i+1)
		if e := f.next(t); string(e.Line) != fmt.Sprintf("l %d\n", i) || e.Stream != "stderr" {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	// Written before Done: still delivered, then Read ends.
	writeNumbered(t, w, "stdout", "l", 4, 6)
	close(done)
	if err := f.result(t); err != nil {
		t.Fatalf("Read after Done: %v", err)
	}
	var rest []string
	for e := range f.entries {
		rest = append(rest, string(e.Line))
	}
	if want := numbered("l", 4, 6); !slices.Equal(rest, want) {
		t.Errorf("after Done got %q, want %q", rest, want)
	}
}

func TestFollowTailZeroOnlyNew(t *testing.T) {
	w, path := openTest(t, Options{})
	writeNumbered(t, w, "stdout", "old", 0, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := startFollow(ctx, path, ReadOptions{Tail: 0})
	time.Sleep(2 * PollInterval) // Read must have opened the file
	writeNumbered(t, w, "stdout", "new", 0, 1)
	if got := string(f.next(t).Line); got != "new 0\n" {
		t.Errorf("first entry %q, want only new lines", got)
	}
}

func TestFollowCancelIsPrompt(t *testing.T) {
	_, path := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	f := startFollow(ctx, path, ReadOptions{Tail: -1})
	time.Sleep(3 * PollInterval)
	start := time.Now()
	cancel()
	if err := f.result(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v", err)
	}
	if d := time.Since(start); d > 2*PollInterval {
		t.Errorf("Read took %v to notice cancellation", d)
	}
}

// Two writers race through several rotations while a follower reads: each
// stream's lines arrive exactly once and in order.
func TestFollowAcrossRotations(t *testing.T) {
	const perStream = 300
	w, path := openTest(t, Options{MaxSize: 4096, MaxFiles: 8})
	writeNumbered(t, w, "stdout", "stdout", 0, 1) // the file exists before Read
	done := make(chan struct{})
	f := startFollow(context.Background(), path, ReadOptions{Tail: -1, Done: done})
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			from := 0
			if stream == "stdout" {
				from = 1
			}
			for i := from; i < perStream; i++ {
				line := fmt.Appendf(nil, "%s %d\n", stream, i)
				if err := w.Write(stream, line, time.Now()); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if _, err := os.Stat(path + ".3"); err != nil {
		t.Fatalf("fewer than 3 rotations: %v", err)
	}
	close(done)
	if err := f.result(t); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for e := range f.entries {
		got[e.Stream] = append(got[e.Stream], string(e.Line))
	}
	for _, stream := range []string{"stdout", "stderr"} {
		if want := numbered(stream, 0, perStream); !slices.Equal(got[stream], want) {
			t.Errorf("%s: %d entries, want %d in order: first %q", stream, len(got[stream]), perStream, got[stream][:min(5, len(got[stream]))])
		}
	}
}

func TestFollowStopsAfterUntil(t *testing.T) {
	w, path := openTest(t, Options{})
	writeNumbered(t, w, "stdout", "l", 0, 3)
	f := startFollow(context.Background(), path, ReadOptions{Tail: -1, Until: time.Now().Add(3 * PollInterval)})
	if err := f.result(t); err != nil {
		t.Errorf("Read with until: %v", err)
	}
}
