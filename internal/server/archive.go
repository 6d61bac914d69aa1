package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// docker cp's routes: HEAD, GET and PUT /containers/{id}/archive.

// pathStatHeader carries a PathStat as base64 JSON, as dockerd sends it.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func (cr *containerRouter) headContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := cr.b.ContainerStatPath(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getContainerArchive sends the stat header and the tar; an error after
// the tar's first byte can only cut it short.
func (cr *containerRouter) getContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	tw := &lazyWriter{w: w, contentType: "application/x-tar"}
	var statErr error
	err = cr.b.ContainerArchivePath(r.Context(), r.PathValue("id"), p, func(st container.PathStat) {
		statErr = setPathStat(w, st)
	}, tw)
	if err == nil {
		err = statErr
	}
	if err == nil {
		tw.start()
	} else if !tw.started {
		w.Header().Del(pathStatHeader)
	}
	return err
}

func (cr *containerRouter) putContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	noOverwrite, copyIDs := boolQuery(r, "noOverwriteDirNonDir"), boolQuery(r, "copyUIDGID")
	if err := cr.b.ContainerExtractToDir(r.Context(), r.PathValue("id"), p, noOverwrite, copyIDs, r.Body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// archivePath is the path query parameter, which dockerd requires.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", errdefs.New(errdefs.ErrInvalidArgument, "path is empty")
	}
	return p, nil
}

func setPathStat(w http.ResponseWriter, st container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}
