package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/moby/moby/api/types/build"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildKitService is BuildKit as pier-buildkitd runs it, in process:
// what pierd's BuildKitProxy forwards to it.
type BuildKitService interface {
	BuildKitBackend
	BuildKitBuilder
	// DiskUsage lists BuildKit's cache records, for /system/df.
	DiskUsage(ctx context.Context) ([]build.CacheRecord, error)
	// PruneCache removes the cache records no build holds (all: not
	// only the dangling ones), keeping up to keepStorage bytes.
	PruneCache(ctx context.Context, all bool, keepStorage int64) (ids []string, reclaimed int64, err error)
	// CancelBuild stops the version-2 build id, if it runs.
	CancelBuild(id string)
}

// The private API between pierd (BuildKitProxy) and pier-buildkitd
// (NewBuildKitHandler), on a unix socket only pierd reaches:
//
//	POST /grpc     Upgrade: h2c; 101, then BuildKit's control API (h2c)
//	POST /session  the client's session request as it came; 101, then the session
//	POST /build    a BuildKitRequest (JSON); 200, then buildFrames (JSON lines)
//	GET  /du       []build.CacheRecord (JSON)
//	POST /prune    a pruneRequest; a pruneResponse
//	POST /cancel   ?id=: stops that build

// buildFrame is one line of POST /build's answer: a trace message, or
// last, the image id or the error.
type buildFrame struct {
	Trace []byte `json:"trace,omitempty"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
	// Kind is the error's errdefs kind, by its text.
	Kind string `json:"kind,omitempty"`
}

type pruneRequest struct {
	All         bool  `json:"all,omitempty"`
	KeepStorage int64 `json:"keepStorage,omitempty"`
}

type pruneResponse struct {
	IDs       []string `json:"ids"`
	Reclaimed int64    `json:"reclaimed"`
}

// errorKinds are the kinds an error keeps across the socket.
var errorKinds = []error{errdefs.ErrInvalidArgument, errdefs.ErrNotFound, errdefs.ErrNotImplemented,
	errdefs.ErrConflict, errdefs.ErrUnauthorized}

// NewBuildKitHandler serves svc on pier-buildkitd's socket, to pierd's
// BuildKitProxy.
func NewBuildKitHandler(svc BuildKitService, log *slog.Logger) http.Handler {
	s := &Server{log: log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	br := buildKitRouter{svc}
	mux := http.NewServeMux()
	mux.Handle("POST /grpc", s.handle(br.grpc))
	mux.Handle("POST /session", s.handle(br.session))
	mux.Handle("POST /build", s.handle(func(w http.ResponseWriter, r *http.Request) error { return serveBuild(w, r, svc) }))
	mux.Handle("GET /du", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		recs, err := svc.DiskUsage(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, recs)
	}))
	mux.Handle("POST /prune", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		var req pruneRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return errdefs.Newf(errdefs.ErrInvalidArgument, "prune request: %v", err)
		}
		ids, n, err := svc.PruneCache(r.Context(), req.All, req.KeepStorage)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, pruneResponse{IDs: ids, Reclaimed: n})
	}))
	mux.Handle("POST /cancel", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		svc.CancelBuild(r.URL.Query().Get("id"))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	return mux
}

// serveBuild runs one version-2 build and streams its frames.
func serveBuild(w http.ResponseWriter, r *http.Request, b BuildKitBuilder) error {
	var req BuildKitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "build request: %v", err)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(f buildFrame) {
		_ = enc.Encode(f) // a write error is pierd gone; the context says so
		_ = rc.Flush()
	}
	id, err := b.BuildV2(r.Context(), req, func(dt []byte) { send(buildFrame{Trace: dt}) })
	if err != nil {
		f := buildFrame{Error: err.Error()}
		for _, k := range errorKinds {
			if errors.Is(err, k) {
				f.Kind = k.Error()
				break
			}
		}
		send(f)
		return nil
	}
	send(buildFrame{ID: id})
	return nil
}
