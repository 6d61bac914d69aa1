package logfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// Writer appends entries to a log file and rotates it. It is safe for
// concurrent use: a container's stdout and stderr copiers share one.
//
// Lifecycle: Open, any number of Write calls, Close. Only one Writer may
// have a given path open at a time (the container's monitor).
type Writer struct {
	path string
	opts Options

	mu sync.Mutex
	// Guarded by mu.
	f *os.File
	// Guarded by mu.
	size int64
	// Guarded by mu; reused to encode records without allocating.
	buf []byte
	// Guarded by mu.
	closed bool
}

// Open opens path for appending, creating it if needed, and removes rotated
// files beyond opts.MaxFiles left by an earlier configuration.
func Open(path string, opts Options) (*Writer, error) {
	opts = opts.withDefaults()
	if opts.Compress {
		return nil, fmt.Errorf("log file %s: compress: %w", path, errdefs.ErrNotImplemented)
	}
	if opts.MaxFiles < 1 {
		return nil, fmt.Errorf("log file %s: max-file %d: %w", path, opts.MaxFiles, errdefs.ErrInvalidArgument)
	}
	w := &Writer{path: path, opts: opts}
	if err := removeRotated(path, opts.MaxFiles); err != nil {
		return nil, err
	}
	if err := w.openCurrent(); err != nil {
		return nil, err
	}
	if err := w.terminateLastLine(); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

func (w *Writer) openCurrent() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log file %s: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// terminateLastLine appends "\n" when the file ends inside a record (the
// previous writer died mid-write), so the damaged record stays one line
// that readers skip instead of corrupting the next one.
func (w *Writer) terminateLastLine() error {
	if w.size == 0 {
		return nil
	}
	r, err := os.Open(w.path)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer r.Close()
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, w.size-1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read log file %s: %w", w.path, err)
	}
	if last[0] == '\n' {
		return nil
	}
	n, err := w.f.Write([]byte{'\n'})
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log file %s: %w", w.path, err)
	}
	return nil
}

// Write stores line, the bytes read from one of the container's streams
// ("stdout" or "stderr") at time t. line is cut after every "\n" and every
// MaxLine bytes; a piece without a final "\n" is stored as a partial entry.
// Use a Stream to buffer output that arrives in pieces.
func (w *Writer) Write(stream string, line []byte, t time.Time) error {
	if stream != "stdout" && stream != "stderr" {
		return fmt.Errorf("log stream %q: %w", stream, errdefs.ErrInvalidArgument)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("log file %s: %w", w.path, fs.ErrClosed)
	}
	if w.f == nil {
		// A failed rotation left no file open: try again.
		if err := w.openCurrent(); err != nil {
			return err
		}
	}
	for len(line) > 0 {
		n := nextChunk(line)
		if err := w.writeRecord(stream, line[:n], t); err != nil {
			return err
		}
		line = line[n:]
	}
	return nil
}

// writeRecord writes one record with a single write(2), so a concurrent
// reader sees whole records or an unfinished last line, never interleaving.
func (w *Writer) writeRecord(stream string, chunk []byte, t time.Time) error {
	if w.opts.Format == FormatCRI {
		if err := w.followRename(); err != nil {
			return err
		}
		w.buf = appendCRIRecord(w.buf[:0], stream, chunk, t)
	} else {
		w.buf = appendRecord(w.buf[:0], stream, chunk, t)
	}
	if w.opts.MaxSize > 0 && w.size > 0 && w.size+int64(len(w.buf)) > w.opts.MaxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log file %s: %w", w.path, err)
	}
	return nil
}

// rotate closes the current file before any rename, so every byte of it is
// in place when a reader sees it move, then shifts path.(i-1) to path.i,
// oldest first, and opens a fresh path.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		w.f = nil
		return fmt.Errorf("close log file %s: %w", w.path, err)
	}
	w.f = nil
	if w.opts.MaxFiles == 1 {
		// Unlink rather than truncate: a reader still holding the old file
		// finishes it, then finds it gone and moves on to the new path.
		if err := os.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log file: %w", err)
		}
	}
	for i := w.opts.MaxFiles - 1; i >= 1; i-- {
		err := os.Rename(rotatedName(w.path, i-1), rotatedName(w.path, i))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log file: %w", err)
		}
	}
	return w.openCurrent()
}

// Close closes the file; later Writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close log file %s: %w", w.path, err)
	}
	return nil
}
