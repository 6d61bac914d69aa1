package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/container"
)

// execRouter serves /containers/{id}/exec and /exec/*.
type execRouter struct{ b ExecBackend }

func (er execRouter) routes() []route {
	return []route{
		{"POST /containers/{id}/exec", er.create},
		{"POST /exec/{id}/start", er.start},
		{"GET /exec/{id}/json", er.inspect},
		{"POST /exec/{id}/resize", er.resize},
	}
}

func (er execRouter) create(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	id, err := er.b.ExecCreate(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, common.IDResponse{ID: id})
}

func (er execRouter) inspect(w http.ResponseWriter, r *http.Request) error {
	resp, err := er.b.ExecInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (er execRouter) resize(w http.ResponseWriter, r *http.Request) error {
	height, width, err := sizeQuery(r)
	if err != nil {
		return err
	}
	if err := er.b.ExecResize(r.Context(), r.PathValue("id"), height, width); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// start runs the exec: detached it answers 200 at once; attached it
// hijacks the connection like attach, reads stdin from it if the exec
// wants it (the client's half-close is its EOF) and streams the output,
// raw with a tty, else as stdcopy frames, until the process ends.
func (er execRouter) start(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	ins, err := er.b.ExecInspect(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Detach {
		if err := er.b.ExecStart(r.Context(), id, true, nil, nil, nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return fmt.Errorf("exec start: connection cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return fmt.Errorf("exec start: hijack: %w", err)
	}
	defer conn.Close()
	// As dockerd: the start body's Tty, not the exec's, says whether the
	// output is framed (docker-py sends Tty:false for a tty exec and reads
	// the terminal's output as stdout frames).
	tty := req.Tty
	if err := writeAttachHead(buf.Writer, r, tty); err != nil {
		return err
	}
	stdin, stdout, stderr := hijackedStreams(buf, tty, ins.OpenStdin,
		ins.OpenStdout || !ins.OpenStderr, ins.OpenStderr || !ins.OpenStdout)
	// The hijacked request's context no longer ends with the client.
	err = er.b.ExecStart(context.WithoutCancel(r.Context()), id, false, stdin, stdout, stderr)
	if err != nil {
		// The status line is sent: tell the client on its stderr, as dockerd does.
		if stderr == nil {
			stderr = stdout
		}
		if stderr != nil {
			_, _ = stderr.Write([]byte(err.Error() + "\r\n"))
		}
	}
	return err
}
