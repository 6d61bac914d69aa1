package logfile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// PollInterval is how often a following Read looks for new data and
// rotations: the latency `logs --follow` adds.
const PollInterval = 50 * time.Millisecond

// ReadOptions select what Read returns, like `docker logs` flags.
type ReadOptions struct {
	// Tail is the number of entries to start from, counted back from the
	// end across rotated files; -1 means all and 0 none (with Follow: only
	// entries written after Read started).
	Tail int
	// Since and Until bound entry times when non-zero. They filter after
	// Tail, as Docker does; an entry after Until ends the Read.
	Since, Until time.Time
	// Follow keeps reading entries as they are written, across rotations,
	// until ctx is cancelled, Done is closed or Until has passed.
	Follow bool
	// Done is closed once the writer has finished for good (the container
	// exited and its monitor closed the log). A following Read then returns
	// nil after reading everything written.
	Done <-chan struct{}
}

// Read calls fn for each selected entry, oldest first. It returns fn's
// error as is, ctx.Err() when cancelled, and nil when the selection is
// exhausted. Lines that do not decode are skipped (see the package doc).
func Read(ctx context.Context, path string, opts ReadOptions, fn func(Entry) error) error {
	if opts.Tail == 0 && !opts.Follow {
		return nil
	}
	f, err := openStart(path, opts.Tail)
	if err != nil {
		return err
	}
	r := &reader{path: path, opts: opts, fn: fn}
	if err := r.switchTo(f); err != nil {
		return err
	}
	defer func() { r.f.Close() }()
	err = r.loop(ctx)
	if errors.Is(err, errUntil) {
		return nil
	}
	return err
}

// errUntil stops a Read at the first entry after ReadOptions.Until.
var errUntil = errors.New("past until")

func openStart(path string, tail int) (*os.File, error) {
	var f *os.File
	var err error
	switch {
	case tail < 0:
		f, err = openOldest(path)
	case tail == 0:
		f, err = openEnd(path)
	default:
		f, err = openTail(path, tail)
	}
	if err == nil && f == nil {
		err = fmt.Errorf("log file %s: %w", path, errdefs.ErrNotFound)
	}
	return f, err
}

func openEnd(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("log file %s: %w", path, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek log file %s: %w", path, err)
	}
	return f, nil
}

type reader struct {
	path    string
	opts    ReadOptions
	fn      func(Entry) error
	f       *os.File
	st      os.FileInfo
	br      *bufio.Reader
	pending []byte // an unfinished last line, waiting for its end
}

func (r *reader) switchTo(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file %s: %w", f.Name(), err)
	}
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.st, r.pending = f, st, r.pending[:0]
	if r.br == nil {
		r.br = bufio.NewReaderSize(f, 64<<10)
	} else {
		r.br.Reset(f)
	}
	return nil
}

// loop reads to the end of the current file, moves to its successor once
// it has one, and waits for more data while following.
func (r *reader) loop(ctx context.Context) error {
	for stuck := 0; ; {
		finished := !r.opts.Follow || isClosed(r.opts.Done)
		if err := r.drain(); err != nil {
			return err
		}
		next, current, err := openSuccessor(r.path, r.st)
		if err != nil {
			return err
		}
		if next != nil {
			// r.f was renamed, hence complete: read what came since drain.
			if err := r.drain(); err != nil {
				next.Close()
				return err
			}
			if err := r.switchTo(next); err != nil {
				return err
			}
			stuck = 0
			continue
		}
		// A writer that died mid-rotation never creates the new path.
		if stuck++; finished && (current || stuck > 20) {
			return nil
		}
		if r.opts.Follow && !r.opts.Until.IsZero() && time.Now().After(r.opts.Until) {
			return nil
		}
		if err := r.wait(ctx, finished); err != nil {
			return err
		}
	}
}

func (r *reader) wait(ctx context.Context, finished bool) error {
	t := time.NewTimer(PollInterval)
	defer t.Stop()
	done := r.opts.Done
	if finished {
		done = nil // closed: it would wake us at once, forever
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
	case <-t.C:
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// drain hands every complete line up to the end of r.f to emit and keeps
// an unfinished last line in r.pending for the next drain.
func (r *reader) drain() error {
	for {
		line, err := r.br.ReadSlice('\n')
		switch {
		case err == nil && len(r.pending) == 0:
			if err := r.emit(line); err != nil {
				return err
			}
		case err == nil:
			r.pending = append(r.pending, line...)
			if err := r.emit(r.pending); err != nil {
				return err
			}
			r.pending = r.pending[:0]
		case errors.Is(err, bufio.ErrBufferFull):
			r.pending = append(r.pending, line...)
		case errors.Is(err, io.EOF):
			r.pending = append(r.pending, line...)
			return nil
		default:
			return fmt.Errorf("read log file %s: %w", r.f.Name(), err)
		}
	}
}

// record is the decoding side of appendRecord.
type record struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func (r *reader) emit(raw []byte) error {
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil // damaged line: skipped, as documented
	}
	if !r.opts.Since.IsZero() && rec.Time.Before(r.opts.Since) {
		return nil
	}
	if !r.opts.Until.IsZero() && rec.Time.After(r.opts.Until) {
		return errUntil
	}
	return r.fn(Entry{Stream: rec.Stream, Line: []byte(rec.Log), Time: rec.Time})
}
