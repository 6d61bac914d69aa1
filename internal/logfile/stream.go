package logfile

import (
	"bytes"
	"time"
)

// Stream turns one of a container's output streams into entries the way
// Docker's log copier does: whole lines, MaxLine-byte pieces of longer
// lines, and on Close what is left without a newline. Copy a pipe into it
// with io.Copy. A Stream is not safe for concurrent use; give each stream
// its own, sharing the Writer.
type Stream struct {
	w      *Writer
	stream string
	buf    []byte
	// Now stamps entries; nil means time.Now. Tests set it.
	Now func() time.Time
}

// NewStream returns a Stream writing entries of stream ("stdout" or
// "stderr") to w.
func NewStream(w *Writer, stream string) *Stream {
	return &Stream{w: w, stream: stream, buf: make([]byte, 0, MaxLine)}
}

// Write stores every complete line of p, buffering the rest until its
// newline arrives or it reaches MaxLine bytes.
func (s *Stream) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(len(p), MaxLine-len(s.buf))
		if i := bytes.IndexByte(p[:take], '\n'); i >= 0 {
			take = i + 1
		}
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if s.buf[len(s.buf)-1] == '\n' || len(s.buf) == MaxLine {
			if err := s.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (s *Stream) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	err := s.w.Write(s.stream, s.buf, now())
	s.buf = s.buf[:0]
	return err
}

// Pending is the start of a line that Write holds until its newline
// arrives: writing it to a new Stream resumes the line there (pier-monitor
// hands its streams to its next image across an exec). It is valid until
// the next Write.
func (s *Stream) Pending() []byte { return s.buf }

// Close stores a last line that has no newline as a partial entry. It does
// not close the Writer.
func (s *Stream) Close() error {
	return s.flush()
}
