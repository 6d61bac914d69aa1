package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/container"
)

// ExecBackend is what /containers/{id}/exec and /exec/* need from the engine; the container backend
// provides it when it implements it.
//
// An exec is created for a running container (errdefs.ErrConflict if it
// does not run), started once, and inspected for its exit code after.
type ExecBackend interface {
	// ExecCreate records cfg for container ref and returns the exec's id.
	ExecCreate(ctx context.Context, ref string, cfg container.ExecCreateRequest) (string, error)
	// ExecStart runs exec id, reading its stdin from stdin (nil: none)
	// and writing its output to stdout and stderr (with a tty all of it
	// goes to stdout); attached it returns when the process has ended,
	// detached once it started. An unknown id is errdefs.ErrNotFound.
	ExecStart(ctx context.Context, id string, detach bool, stdin io.Reader, stdout, stderr io.Writer) error
	ExecInspect(ctx context.Context, id string) (container.ExecInspectResponse, error)
	// ExecResize sets the size of a running exec's terminal.
	ExecResize(ctx context.Context, id string, height, width uint) error
}

func (s *Server) execRoutes(mux *http.ServeMux) {
	// Registered from here until containerRoutes calls it itself.
	b, ok := s.containers.(ExecBackend)
	if !ok {
		return
	}
	h := &execHandlers{s: s, b: b}
	mux.HandleFunc("POST /containers/{id}/exec", h.create)
	mux.HandleFunc("POST /exec/{id}/start", h.start)
	mux.HandleFunc("GET /exec/{id}/json", h.inspect)
	mux.HandleFunc("POST /exec/{id}/resize", h.resize)
}

type execHandlers struct {
	s *Server
	b ExecBackend
}

func (h *execHandlers) create(w http.ResponseWriter, r *http.Request) {
	var req container.ExecCreateRequest
	if err := readJSON(r, &req); err != nil {
		h.s.writeError(w, r, err)
		return
	}
	id, err := h.b.ExecCreate(r.Context(), r.PathValue("id"), req)
	if err != nil {
		h.s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, common.IDResponse{ID: id})
}

func (h *execHandlers) inspect(w http.ResponseWriter, r *http.Request) {
	resp, err := h.b.ExecInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		h.s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *execHandlers) resize(w http.ResponseWriter, r *http.Request) {
	height, width, err := sizeQuery(r)
	if err == nil {
		err = h.b.ExecResize(r.Context(), r.PathValue("id"), height, width)
	}
	if err != nil {
		h.s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// start runs the exec: detached it answers 200 at once; attached it
// hijacks the connection like attach, reads stdin from it if the exec
// wants it (the client's half-close is its EOF) and streams the output,
// raw with a tty, else as stdcopy frames, until the process ends.
func (h *execHandlers) start(w http.ResponseWriter, r *http.Request) {
	var req container.ExecStartRequest
	if err := readJSON(r, &req); err != nil {
		h.s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	ins, err := h.b.ExecInspect(r.Context(), id)
	if err != nil {
		h.s.writeError(w, r, err)
		return
	}
	if req.Detach {
		if err := h.b.ExecStart(r.Context(), id, true, nil, nil, nil); err != nil {
			h.s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		h.s.writeError(w, r, fmt.Errorf("exec start: connection cannot be hijacked"))
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		h.s.log.Warn("exec start: hijack", "exec_id", id, "err", err)
		return
	}
	defer conn.Close()
	tty := ins.ProcessConfig != nil && ins.ProcessConfig.Tty
	if err := writeAttachHead(buf.Writer, r, tty); err != nil {
		return
	}
	stdin, stdout, stderr := hijackedStreams(buf, tty, ins.OpenStdin,
		ins.OpenStdout || !ins.OpenStderr, ins.OpenStderr || !ins.OpenStdout)
	// The hijacked request's context no longer ends with the client.
	if err := h.b.ExecStart(context.WithoutCancel(r.Context()), id, false, stdin, stdout, stderr); err != nil {
		// The status line is sent: tell the client on its stderr, as dockerd does.
		if stderr == nil {
			stderr = stdout
		}
		if stderr != nil {
			_, _ = stderr.Write([]byte(err.Error() + "\r\n"))
		}
	}
}

// frameMux writes the writes of several streams as stdcopy frames on one
// connection, one whole frame at a time.
type frameMux struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
}

type frameStream struct {
	m  *frameMux
	id byte
}

func (m *frameMux) stream(id byte) io.Writer { return &frameStream{m: m, id: id} }

func (f *frameStream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hdr [8]byte
	hdr[0] = f.id
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if _, err := f.m.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	if _, err := f.m.w.Write(p); err != nil {
		return 0, err
	}
	return len(p), f.m.flush()
}
