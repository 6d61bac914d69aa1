package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/logfile"
)

// logOptions reads the logs endpoint's query: follow, tail ("all" or a
// count), since and until (Unix seconds, with an optional fraction).
func logOptions(r *http.Request) (logfile.ReadOptions, error) {
	q := r.URL.Query()
	opts := logfile.ReadOptions{Tail: -1, Follow: boolQuery(r, "follow")}
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return opts, errdefs.New(errdefs.ErrInvalidArgument, "invalid value for tail: "+t)
		}
		opts.Tail = n
	}
	for _, key := range []string{"since", "until"} {
		v := q.Get(key)
		if v == "" || v == "0" {
			continue
		}
		t, err := parseTimestamp(v)
		if err != nil {
			return opts, errdefs.Newf(errdefs.ErrInvalidArgument, "invalid value for %s: %s", key, v)
		}
		if key == "since" {
			opts.Since = t
		} else {
			opts.Until = t
		}
	}
	return opts, nil
}

func (cr *containerRouter) getContainerLogs(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("id")
	stdout, stderr := boolQuery(r, "stdout"), boolQuery(r, "stderr")
	if !stdout && !stderr {
		return errdefs.New(errdefs.ErrInvalidArgument, "Bad parameters: you must choose at least one stream")
	}
	opts, err := logOptions(r)
	if err != nil {
		return err
	}
	c, err := cr.b.ContainerInspect(r.Context(), ref)
	if err != nil {
		return err
	}
	raw := c.Config != nil && c.Config.Tty
	w.Header().Set("Content-Type", streamType(raw))
	w.WriteHeader(http.StatusOK)
	flush := httpFlush(w)
	_ = flush()
	out, errw := outputStreams(w, flush, raw, stdout, stderr)
	ew := &entryWriter{stdout: out, stderr: errw, stamps: boolQuery(r, "timestamps")}
	// The status line is sent: an error now is only logged.
	return cr.b.ContainerLogs(r.Context(), ref, opts, ew.entry)
}

// postContainerAttach attaches the client to the container's stdio. The
// connection is hijacked in the streams callback, once the backend knows
// the container, so that an unknown one still gets its 404.
func (cr *containerRouter) postContainerAttach(w http.ResponseWriter, r *http.Request) error {
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
	err := cr.b.ContainerAttachStreams(r.Context(), ref, boolQuery(r, "logs"), boolQuery(r, "stream"),
		r.URL.Query().Get("detachKeys"), streams)
	if conn != nil {
		conn.Close()
	}
	return err
}

func (cr *containerRouter) postContainerResize(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := sizeQuery(r)
	if err != nil {
		return err
	}
	if err := cr.b.ContainerResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
