package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/pier-engine/pier/internal/builder"
	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildBackend serves the classic builder's endpoints and the ones that
// share its layer-from-a-container machinery.
type BuildBackend interface {
	// Build runs the context tar r's Dockerfile; output goes to
	// opts.Out and opts.Aux.
	Build(ctx context.Context, r io.Reader, opts builder.Options) (string, error)
	// BuildPrune forgets the build cache (POST /build/prune).
	BuildPrune(ctx context.Context, all bool) (build.CachePruneReport, error)
	// ContainerCommit is docker commit (POST /commit).
	ContainerCommit(ctx context.Context, req CommitRequest) (string, error)
	// ContainerChanges is docker diff (GET /containers/{id}/changes).
	ContainerChanges(ctx context.Context, ref string) ([]container.FilesystemChange, error)
}

// ContextSyncer is a BuildBackend that keeps build contexts synced for
// pier's CLI (POST /build/context, then POST /build with the header
// X-Pier-Context carrying only the files asked for); without it the
// route answers 404 and the CLI sends the whole context as a tar.
type ContextSyncer interface {
	SyncContext(ctx context.Context, req builder.SyncRequest) (builder.SyncReply, error)
}

// CommitRequest is POST /commit's query and body.
type CommitRequest struct {
	Container string
	Reference string // repo[:tag], "" for an untagged image
	Author    string
	Comment   string
	Pause     bool
	Changes   []string
	Config    *container.Config
}

// buildRouter serves /build, /build/prune, /commit and changes.
type buildRouter struct{ b BuildBackend }

func (br buildRouter) routes() []route {
	return []route{
		{"POST /build", br.build},
		{"POST /build/prune", br.prune},
		{"POST /build/context", br.syncContext},
		// BuildKit's cancel; the classic builder stops when its client goes.
		{"POST /build/cancel", func(w http.ResponseWriter, r *http.Request) error { w.WriteHeader(http.StatusOK); return nil }},
		{"POST /commit", br.commit},
		{"GET /containers/{id}/changes", br.changes},
		// pier has no plugins; moby's integration suites (make
		// compat-build) list them before every test, as dockerd answers.
		{"GET /plugins", func(w http.ResponseWriter, r *http.Request) error {
			return writeJSON(w, http.StatusOK, []struct{}{})
		}},
	}
}

// streamWriter turns the builder's text into {"stream": ...} messages.
type streamWriter struct{ st *jsonStream }

func (sw streamWriter) Write(p []byte) (int, error) {
	sw.st.send(jsonstream.Message{Stream: string(p)})
	return len(p), nil
}

func (br buildRouter) build(w http.ResponseWriter, r *http.Request) error {
	opts, err := buildOptions(r)
	if err != nil {
		return err
	}
	st := newJSONStream(w)
	opts.Out = streamWriter{st}
	opts.Aux = func(id string) {
		aux := json.RawMessage(fmt.Sprintf(`{"ID":%q}`, id))
		st.send(jsonstream.Message{Aux: &aux})
	}
	if _, err := br.b.Build(r.Context(), r.Body, opts); err != nil {
		if r.Context().Err() != nil {
			return err // the client is gone; the build cleaned up
		}
		var ee *builder.ExitError
		if errors.As(err, &ee) {
			st.send(streamError{Message: jsonstream.Message{Error: &jsonstream.Error{Code: ee.Code, Message: err.Error()}}, ErrorMessage: err.Error()})
			return nil
		}
		return st.fail(err)
	}
	st.start()
	return nil
}

func (br buildRouter) syncContext(w http.ResponseWriter, r *http.Request) error {
	cs, ok := br.b.(ContextSyncer)
	if !ok {
		return notFound(w, r)
	}
	var req builder.SyncRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		if isMaxBytes(err) {
			return err // 413: pier's CLI sends the whole tar instead
		}
		return errdefs.Newf(errdefs.ErrInvalidArgument, "build context listing: %s", err)
	}
	reply, err := cs.SyncContext(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reply)
}

func buildOptions(r *http.Request) (builder.Options, error) {
	q := r.URL.Query()
	opts := builder.Options{
		Tags: q["t"], Dockerfile: q.Get("dockerfile"), Target: q.Get("target"),
		NoCache: boolParam(q.Get("nocache")), Pull: boolParam(q.Get("pull")),
		Remove: q.Get("rm") == "" || boolParam(q.Get("rm")), ForceRemove: boolParam(q.Get("forcerm")),
		Quiet: boolParam(q.Get("q")), Platform: q.Get("platform"),
		ContextSession: r.Header.Get("X-Pier-Context"),
	}
	bad := func(format string, a ...any) error {
		return errdefs.Newf(errdefs.ErrInvalidArgument, format, a...)
	}
	if boolParam(q.Get("squash")) {
		return opts, bad("squash is not supported by pier's builder")
	}
	if q.Get("remote") != "" {
		return opts, bad("remote build contexts are not supported: send the context as a tar")
	}
	if v := q.Get("version"); v == "2" {
		return opts, errdefs.New(errdefs.ErrNotImplemented, "BuildKit (version=2) is not supported yet: use the classic builder (DOCKER_BUILDKIT=0)")
	}
	for _, p := range []struct {
		name string
		v    any
	}{{"buildargs", &opts.BuildArgs}, {"labels", &opts.Labels}, {"cachefrom", &opts.CacheFrom}} {
		if s := q.Get(p.name); s != "" {
			if err := json.Unmarshal([]byte(s), p.v); err != nil {
				return opts, bad("%s: %s", p.name, err)
			}
		}
	}
	h := &opts.Host
	h.NetworkMode = container.NetworkMode(q.Get("networkmode"))
	if h.NetworkMode == "default" {
		h.NetworkMode = ""
	}
	for _, eh := range q["extrahosts"] {
		for _, e := range strings.Split(eh, ",") {
			if e = strings.TrimSpace(e); e != "" {
				h.ExtraHosts = append(h.ExtraHosts, e)
			}
		}
	}
	ints := []struct {
		name string
		dst  *int64
	}{{"shmsize", &h.ShmSize}, {"memory", &h.Memory}, {"memswap", &h.MemorySwap},
		{"cpushares", &h.CPUShares}, {"cpuperiod", &h.CPUPeriod}, {"cpuquota", &h.CPUQuota}}
	for _, p := range ints {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return opts, bad("%s: %q is not a number", p.name, s)
			}
			*p.dst = n
		}
	}
	h.CpusetCpus = q.Get("cpusetcpus")
	h.CgroupParent = q.Get("cgroupparent")
	if s := q.Get("ulimits"); s != "" {
		var uls []*units.Ulimit
		if err := json.Unmarshal([]byte(s), &uls); err != nil {
			return opts, bad("ulimits: %s", err)
		}
		for _, u := range uls {
			h.Ulimits = append(h.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
		}
	}
	return opts, nil
}

func boolParam(v string) bool { return boolValue(v) }

func (br buildRouter) prune(w http.ResponseWriter, r *http.Request) error {
	rep, err := br.b.BuildPrune(r.Context(), boolParam(r.URL.Query().Get("all")))
	if err != nil {
		return err
	}
	if rep.CachesDeleted == nil {
		rep.CachesDeleted = []string{}
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (br buildRouter) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := CommitRequest{
		Container: q.Get("container"), Reference: joinRef(q.Get("repo"), q.Get("tag")),
		Author: q.Get("author"), Comment: q.Get("comment"),
		Pause: q.Get("pause") == "" || boolParam(q.Get("pause")), Changes: q["changes"],
	}
	if req.Container == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "container is required")
	}
	var cfg container.Config
	if err := json.NewDecoder(r.Body).Decode(&cfg); err == nil {
		req.Config = &cfg
	} else if !errors.Is(err, io.EOF) {
		return errdefs.New(errdefs.ErrInvalidArgument, "config: "+err.Error())
	}
	id, err := br.b.ContainerCommit(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, container.CommitResponse{ID: id})
}

func (br buildRouter) changes(w http.ResponseWriter, r *http.Request) error {
	ch, err := br.b.ContainerChanges(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if ch == nil {
		ch = []container.FilesystemChange{}
	}
	return writeJSON(w, http.StatusOK, ch)
}
