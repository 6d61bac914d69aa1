package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildKitRequest is POST /build?version=2, which docker CLIs before
// buildx (Debian's 20.10 among them) send when /_ping says Builder-Version
// 2: the context and Dockerfile come through the session named here.
type BuildKitRequest struct {
	SessionID, BuildID   string
	Tags                 []string
	Dockerfile, Target   string
	Platform, Network    string
	BuildArgs            map[string]*string
	Labels               map[string]string
	CacheFrom, ExtraHost []string
	NoCache, Pull        bool
}

// BuildKitBuilder runs a version=2 build; trace gets BuildKit's progress
// (marshalled StatusResponse messages) for the client to render.
type BuildKitBuilder interface {
	BuildV2(ctx context.Context, req BuildKitRequest, trace func([]byte)) (imageID string, err error)
}

// BuildKitCanceller stops a version-2 build by the build id its client
// gave (POST /build/cancel?id=, what docker CLI 20.10 sends on ^C).
type BuildKitCanceller interface {
	CancelBuild(id string)
}

// isBuildV2 tells a POST /build (any API version prefix) for BuildKit.
func isBuildV2(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.Query().Get("version") != "2" {
		return false
	}
	return apiPath(r) == "/build"
}

// apiPath is the request's path without its API version prefix.
func apiPath(r *http.Request) string {
	p := r.URL.Path
	if i := strings.Index(p[1:], "/"); strings.HasPrefix(p, "/v") && i > 0 {
		p = p[i+1:]
	}
	return p
}

// buildV2 answers as dockerd's builder-next does: the trace as aux
// messages with id moby.buildkit.trace, then moby.image.id.
func buildV2(w http.ResponseWriter, r *http.Request, b BuildKitBuilder) error {
	q := r.URL.Query()
	req := BuildKitRequest{
		SessionID: q.Get("session"), BuildID: q.Get("buildid"), Tags: q["t"],
		Dockerfile: q.Get("dockerfile"), Target: q.Get("target"), Platform: q.Get("platform"),
		Network: q.Get("networkmode"), NoCache: boolParam(q.Get("nocache")), Pull: boolParam(q.Get("pull")),
		ExtraHost: q["extrahosts"],
	}
	if req.SessionID == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "build version 2 needs a session (the session parameter)")
	}
	for _, p := range []struct {
		name string
		into any
	}{{"buildargs", &req.BuildArgs}, {"labels", &req.Labels}, {"cachefrom", &req.CacheFrom}} {
		if v := q.Get(p.name); v != "" {
			if err := json.Unmarshal([]byte(v), p.into); err != nil {
				return errdefs.Newf(errdefs.ErrInvalidArgument, "%s: %v", p.name, err)
			}
		}
	}
	st := newJSONStream(w)
	id, err := b.BuildV2(r.Context(), req, func(dt []byte) {
		aux, _ := json.Marshal(dt) // a JSON string of base64, as dockerd sends it
		raw := json.RawMessage(aux)
		st.send(jsonstream.Message{ID: "moby.buildkit.trace", Aux: &raw})
	})
	if err != nil {
		return st.fail(err)
	}
	aux, _ := json.Marshal(struct{ ID string }{id})
	raw := json.RawMessage(aux)
	st.send(jsonstream.Message{ID: "moby.image.id", Aux: &raw})
	return nil
}
