package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// ArchiveBackend is what /containers/{id}/archive (docker cp) needs.
//
// ContainerStatPath describes path in the container (HEAD).
// ContainerArchivePath calls stat with that description, then writes a
// tar of path to w (GET); it writes nothing when it fails before stat.
// ContainerExtractToDir unpacks the tar r into the directory path (PUT).
// A missing path is errdefs.ErrNotFound with dockerd's "Could not find
// the file" message.
type ArchiveBackend interface {
	ContainerStatPath(ctx context.Context, ref, path string) (container.PathStat, error)
	ContainerArchivePath(ctx context.Context, ref, path string, stat func(container.PathStat), w io.Writer) error
	ContainerExtractToDir(ctx context.Context, ref, path string, noOverwriteDirNonDir, copyUIDGID bool, r io.Reader) error
}

// pathStatHeader carries a PathStat as base64 JSON, as dockerd sends it.
const pathStatHeader = "X-Docker-Container-Path-Stat"

// archiveRoutes registers the archive routes when the container backend
// also implements ArchiveBackend.
func (s *Server) archiveRoutes(mux *http.ServeMux) {
	b, ok := s.containers.(ArchiveBackend)
	if !ok {
		return
	}
	mux.HandleFunc("HEAD /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.archivePath(w, r)
		if !ok {
			return
		}
		st, err := b.ContainerStatPath(r.Context(), r.PathValue("id"), p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := setPathStat(w, st); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.archivePath(w, r)
		if !ok {
			return
		}
		tw := &tarWriter{w: w}
		var statErr error
		err := b.ContainerArchivePath(r.Context(), r.PathValue("id"), p, func(st container.PathStat) {
			statErr = setPathStat(w, st)
		}, tw)
		if err == nil && statErr != nil {
			err = statErr
		}
		switch {
		case err == nil:
			tw.start()
		case !tw.started:
			w.Header().Del(pathStatHeader)
			s.writeError(w, r, err)
		default:
			// The status line is sent: the client sees a truncated tar.
			s.log.Warn("archive", "container_id", r.PathValue("id"), "path", p, "err", err)
		}
	})
	mux.HandleFunc("PUT /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.archivePath(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		noOverwrite, copyIDs := boolValue(q.Get("noOverwriteDirNonDir")), boolValue(q.Get("copyUIDGID"))
		if err := b.ContainerExtractToDir(r.Context(), r.PathValue("id"), p, noOverwrite, copyIDs, r.Body); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// archivePath is the path query parameter, which dockerd requires.
func (s *Server) archivePath(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := r.URL.Query().Get("path")
	if p == "" {
		s.writeError(w, r, &kindError{"path is empty", errdefs.ErrInvalidArgument})
		return "", false
	}
	return p, true
}

// boolValue reads a query flag as dockerd does: "", "0", "no", "false"
// and "none" are false, anything else true.
func boolValue(v string) bool {
	switch v {
	case "", "0", "no", "false", "none":
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return true
}

func setPathStat(w http.ResponseWriter, st container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}
