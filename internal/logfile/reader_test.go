package logfile

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestTailAcrossRotatedFiles(t *testing.T) {
	w, path := openTest(t, Options{MaxSize: 400, MaxFiles: 20})
	writeNumbered(t, w, "stdout", "l", 0, 60) // about 80 bytes each: 5 per file
	for _, n := range []int{1, 4, 5, 6, 13, 59, 60} {
		got := lines(readAll(t, path, ReadOptions{Tail: n}))
		if want := numbered("l", 60-n, 60); !slices.Equal(got, want) {
			t.Errorf("tail %d: got %q, want %q", n, got, want)
		}
	}
	// More than is kept: everything from the oldest file.
	all := lines(readAll(t, path, ReadOptions{Tail: -1}))
	if got := lines(readAll(t, path, ReadOptions{Tail: 1000})); !slices.Equal(got, all) || len(all) == 0 {
		t.Errorf("tail 1000 gave %d lines, all gives %d", len(got), len(all))
	}
	if got := readAll(t, path, ReadOptions{Tail: 0}); len(got) != 0 {
		t.Errorf("tail 0 gave %d lines", len(got))
	}
}

func TestSinceUntil(t *testing.T) {
	w, path := openTest(t, Options{MaxSize: 400, MaxFiles: 10})
	writeNumbered(t, w, "stdout", "l", 0, 30) // line i at t0 + i s
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, tc := range []struct {
		opts     ReadOptions
		from, to int
	}{
		{ReadOptions{Tail: -1, Since: at(10)}, 10, 30},
		{ReadOptions{Tail: -1, Until: at(10)}, 0, 11},
		{ReadOptions{Tail: -1, Since: at(5), Until: at(7)}, 5, 8},
		{ReadOptions{Tail: 5, Since: at(20)}, 25, 30},
		{ReadOptions{Tail: 5, Since: at(27)}, 27, 30}, // tail first, then since
		{ReadOptions{Tail: -1, Since: at(31)}, 0, 0},
	} {
		got := lines(readAll(t, path, tc.opts))
		if want := numbered("l", tc.from, tc.to); !slices.Equal(got, want) {
			t.Errorf("%+v: got %q, want lines %d..%d", tc.opts, got, tc.from, tc.to-1)
		}
	}
}

func TestDamagedLinesAreSkipped(t *testing.T) {
	w, path := openTest(t, Options{})
	writeNumbered(t, w, "stdout", "l", 0, 2)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("garbage\n{\"log\":42}\n")
	f.Close()
	writeNumbered(t, w, "stdout", "l", 2, 3)
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"log":"truncated by a cra`)
	f.Close()
	got := lines(readAll(t, path, ReadOptions{Tail: -1}))
	if want := numbered("l", 0, 3); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	w, path := openTest(t, Options{})
	writeNumbered(t, w, "stdout", "l", 0, 3)
	stop := errors.New("stop")
	n := 0
	err := Read(context.Background(), path, ReadOptions{Tail: -1}, func(Entry) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("fn error: Read returned %v after %d entries", err, n)
	}
	for _, tail := range []int{-1, 0, 3} {
		err = Read(context.Background(), path+".missing", ReadOptions{Tail: tail, Follow: true}, func(Entry) error { return nil })
		if !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("missing file, tail %d: %v, want not found", tail, err)
		}
	}
}
