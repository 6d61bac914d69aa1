package server

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
)

// Stream ids of Docker's multiplexed stream (stdcopy).
const (
	streamStdout = 1
	streamStderr = 2
)

// frameWriter writes log entries as stdcopy frames: an 8-byte header
// (stream id, three zero bytes, big-endian payload length), then the
// payload; raw writes payloads alone, as for a container with a tty.
type frameWriter struct {
	w                      io.Writer
	flush                  func()
	stdout, stderr, stamps bool
	raw                    bool
}

func (f *frameWriter) entry(e logfile.Entry) error {
	id := byte(streamStdout)
	switch e.Stream {
	case "stdout":
		if !f.stdout {
			return nil
		}
	case "stderr":
		if !f.stderr {
			return nil
		}
		id = streamStderr
	default:
		return nil
	}
	payload := e.Line
	if f.stamps {
		payload = append([]byte(e.Time.UTC().Format(time.RFC3339Nano)+" "), e.Line...)
	}
	if !f.raw {
		var hdr [8]byte
		hdr[0] = id
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		if _, err := f.w.Write(hdr[:]); err != nil {
			return err
		}
	}
	if _, err := f.w.Write(payload); err != nil {
		return err
	}
	if f.flush != nil {
		f.flush()
	}
	return nil
}

// logOptions reads the logs endpoint's query: follow, tail ("all" or a
// count), since (Unix seconds, with an optional fraction).
func logOptions(r *http.Request) (logfile.ReadOptions, error) {
	q := r.URL.Query()
	opts := logfile.ReadOptions{Tail: -1, Follow: boolQuery(r, "follow")}
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return opts, &kindError{"invalid value for tail: " + t, errdefs.ErrInvalidArgument}
		}
		opts.Tail = n
	}
	for key, dst := range map[string]*time.Time{"since": &opts.Since, "until": &opts.Until} {
		v := q.Get(key)
		if v == "" || v == "0" {
			continue
		}
		t, err := unixTime(v)
		if err != nil {
			return opts, &kindError{fmt.Sprintf("invalid value for %s: %s", key, v), errdefs.ErrInvalidArgument}
		}
		*dst = t
	}
	return opts, nil
}

func unixTime(v string) (time.Time, error) {
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(s, ns), nil
}

func (s *Server) getContainerLogs(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	stdout, stderr := boolQuery(r, "stdout"), boolQuery(r, "stderr")
	if !stdout && !stderr {
		s.writeError(w, r, &kindError{"Bad parameters: you must choose at least one stream", errdefs.ErrInvalidArgument})
		return
	}
	opts, err := logOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.containers.ContainerInspect(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw := c.Config != nil && c.Config.Tty
	w.Header().Set("Content-Type", streamType(raw))
	w.WriteHeader(http.StatusOK)
	fw := &frameWriter{w: w, stdout: stdout, stderr: stderr, stamps: boolQuery(r, "timestamps"), raw: raw}
	if f, ok := w.(http.Flusher); ok {
		fw.flush = f.Flush
		f.Flush()
	}
	if err := s.containers.ContainerLogs(r.Context(), ref, opts, fw.entry); err != nil {
		// The status line is sent; all that is left is to note it.
		s.log.Debug("logs", "container_id", ref, "err", err)
	}
}

func streamType(raw bool) string {
	if raw {
		return "application/vnd.docker.raw-stream"
	}
	return "application/vnd.docker.multiplexed-stream"
}

// postContainerAttach hijacks the connection and streams the container's
// output until it ends, with stdin when the backend has AttachBackend;
// else it follows the container's log.
func (s *Server) postContainerAttach(w http.ResponseWriter, r *http.Request) {
	if b, ok := s.containers.(AttachBackend); ok {
		s.attachStreams(b, w, r)
		return
	}
	ref := r.PathValue("id")
	c, err := s.containers.ContainerInspect(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !boolQuery(r, "stream") {
		s.writeError(w, r, &kindError{"attach without stream is not supported", errdefs.ErrNotImplemented})
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.writeError(w, r, fmt.Errorf("attach: connection cannot be hijacked"))
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		s.log.Warn("attach: hijack", "container_id", ref, "err", err)
		return
	}
	defer conn.Close()
	raw := c.Config != nil && c.Config.Tty
	if err := writeAttachHead(buf.Writer, r, raw); err != nil {
		return
	}
	fw := &frameWriter{w: buf.Writer, stdout: boolQuery(r, "stdout"), stderr: boolQuery(r, "stderr"), raw: raw,
		flush: func() { _ = buf.Writer.Flush() }}
	// The request's context ends with the hijack; the stream ends with
	// the container or the client's write error.
	if err := s.containers.ContainerAttach(r.Context(), ref, fw.entry); err != nil {
		s.log.Debug("attach", "container_id", ref, "err", err)
	}
}

// writeAttachHead answers an attach as dockerd does: 101 for a client
// that asked to upgrade, else 200, then the raw stream.
func writeAttachHead(w *bufio.Writer, r *http.Request, raw bool) error {
	// Clients before API 1.42 expect raw-stream as the type of both.
	ct := streamType(raw || compareVersions(requestVersion(r), "1.42") < 0)
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		fmt.Fprintf(w, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ct)
	} else {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", ct)
	}
	return w.Flush()
}

// writeJSONBody writes v after the status line has gone out.
func writeJSONBody(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}
