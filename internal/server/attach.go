package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/pier-engine/pier/internal/errdefs"
)

// AttachBackend is the live attach with stdin and the terminal's size;
// the container backend provides it when it implements it (else attach
// follows ContainerBackend.ContainerAttach, output only).
type AttachBackend interface {
	// ContainerAttachStreams attaches to container ref. streams is called
	// once ref is known, with whether it has a tty, and returns the
	// client's stdin (nil: none) and where stdout and stderr go (nil: not
	// wanted); with logs the log so far is sent first; with stream the
	// live output follows until the container ends, the client's input
	// ends or it types detachKeys ("" for ctrl-p,ctrl-q). An error
	// before streams is called is the request's.
	ContainerAttachStreams(ctx context.Context, ref string, logs, stream bool, detachKeys string,
		streams func(tty bool) (io.Reader, io.Writer, io.Writer, error)) error
	// ContainerResize sets a running container's terminal size.
	ContainerResize(ctx context.Context, ref string, height, width uint) error
}

// attachRoutes registers what needs AttachBackend besides attach itself.
func (s *Server) attachRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(AttachBackend)
	if !ok {
		return
	}
	mux.HandleFunc("POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
		h, wd, err := sizeQuery(r)
		if err == nil {
			err = b.ContainerResize(r.Context(), r.PathValue("id"), h, wd)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// sizeQuery reads resize's h and w.
func sizeQuery(r *http.Request) (uint, uint, error) {
	var out [2]uint
	for i, key := range []string{"h", "w"} {
		n, err := strconv.ParseUint(r.URL.Query().Get(key), 10, 16)
		if err != nil {
			return 0, 0, &kindError{fmt.Sprintf("invalid %s: %s", key, err), errdefs.ErrInvalidArgument}
		}
		out[i] = uint(n)
	}
	return out[0], out[1], nil
}

// attachStreams attaches through AttachBackend: the connection is
// hijacked in the streams callback, once the backend knows the container,
// so that an unknown one still gets its 404.
func (s *Server) attachStreams(b AttachBackend, w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	var conn net.Conn
	streams := func(tty bool) (io.Reader, io.Writer, io.Writer, error) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			return nil, nil, nil, fmt.Errorf("attach: connection cannot be hijacked")
		}
		c, buf, err := hj.Hijack()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("attach: hijack: %w", err)
		}
		conn = c
		if err := writeAttachHead(buf.Writer, r, tty); err != nil {
			return nil, nil, nil, err
		}
		stdin, stdout, stderr := hijackedStreams(buf, tty, boolQuery(r, "stdin"), boolQuery(r, "stdout"), boolQuery(r, "stderr"))
		return stdin, stdout, stderr, nil
	}
	err := b.ContainerAttachStreams(r.Context(), ref, boolQuery(r, "logs"), boolQuery(r, "stream"),
		r.URL.Query().Get("detachKeys"), streams)
	if conn == nil {
		if err != nil {
			s.writeError(w, r, err)
		}
		return
	}
	if err != nil {
		s.log.Debug("attach", "container_id", ref, "err", err)
	}
	conn.Close()
}

// hijackedStreams are the client's stdin and the writers of its output
// on a hijacked connection: raw with a tty, stdcopy frames without.
func hijackedStreams(buf *bufio.ReadWriter, tty, stdin, stdout, stderr bool) (io.Reader, io.Writer, io.Writer) {
	var in io.Reader
	if stdin {
		in = buf.Reader
	}
	var out, errw io.Writer
	if tty {
		raw := &flushWriter{w: buf.Writer}
		if stdout {
			out = raw
		}
		if stderr {
			errw = raw
		}
		return in, out, errw
	}
	mux := &frameMux{w: buf.Writer, flush: buf.Writer.Flush}
	if stdout {
		out = mux.stream(streamStdout)
	}
	if stderr {
		errw = mux.stream(streamStderr)
	}
	return in, out, errw
}

// flushWriter sends each write at once: a terminal's prompt has no
// newline to wait for.
type flushWriter struct{ w *bufio.Writer }

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}
