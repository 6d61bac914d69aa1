package buildkit

import (
	"context"
	"fmt"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/util/entitlements"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/pier-engine/pier/internal/errdefs"
)

// BuildRequest is a build that a client hands to the daemon whole
// (POST /build?version=2) instead of driving BuildKit's API itself; the
// context and Dockerfile come through the client's session.
type BuildRequest struct {
	SessionID, BuildID string
	Tags               []string
	Dockerfile, Target string
	Platform, Network  string
	BuildArgs          map[string]*string
	Labels             map[string]string
	CacheFrom          []string
	ExtraHosts         []string
	NoCache, Pull      bool
}

// frontendAttrs are the Dockerfile frontend's options for req, named as
// dockerd's builder-next names them.
func (req BuildRequest) frontendAttrs() map[string]string {
	a := map[string]string{"image-resolve-mode": "default"}
	if req.Pull {
		a["image-resolve-mode"] = "pull"
	}
	if req.Target != "" {
		a["target"] = req.Target
	}
	if req.Dockerfile != "" && req.Dockerfile != "." {
		a["filename"] = req.Dockerfile
	}
	if req.Platform != "" {
		a["platform"] = req.Platform
	}
	if req.NoCache {
		a["no-cache"] = ""
	}
	if len(req.CacheFrom) > 0 {
		a["cache-from"] = strings.Join(req.CacheFrom, ",")
	}
	if len(req.ExtraHosts) > 0 {
		a["add-hosts"] = strings.Join(req.ExtraHosts, ",")
	}
	if req.Network == "host" || req.Network == "none" {
		a["force-network-mode"] = req.Network
	}
	for k, v := range req.BuildArgs {
		if v != nil {
			a["build-arg:"+k] = *v
		}
	}
	for k, v := range req.Labels {
		a["label:"+k] = v
	}
	return a
}

// Build runs req through the Dockerfile frontend and the moby exporter;
// trace gets each progress update marshalled, as dockerd streams them.
func (l *Lazy) Build(ctx context.Context, req BuildRequest, trace func([]byte)) (string, error) {
	d, err := l.Daemon()
	if err != nil {
		return "", err
	}
	switch req.Network {
	case "", "default", "host", "none":
	default:
		return "", fmt.Errorf("network mode %q not supported by BuildKit (default, host or none): %w", req.Network, errdefs.ErrInvalidArgument)
	}
	ref := req.BuildID
	if ref == "" {
		ref = identity.NewID()
	}
	sreq := req.solveRequest(ref, l.cfg.V2History)
	var id string
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.builds.add(ref, cancel)
	defer l.builds.remove(ref)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		resp, err := d.ctrl.Solve(gctx, sreq)
		if err != nil {
			return err
		}
		id = resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]
		return nil
	})
	g.Go(func() error {
		return d.ctrl.Status(&controlapi.StatusRequest{Ref: ref}, &statusStream{ctx: gctx, send: trace})
	})
	if err := g.Wait(); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return id, nil
}

// solveRequest is req as the controller's Solve takes it, under the
// build id ref; history says whether it goes into the build history.
func (req BuildRequest) solveRequest(ref string, history bool) *controlapi.SolveRequest {
	sreq := &controlapi.SolveRequest{
		Ref:           ref,
		Session:       req.SessionID,
		Frontend:      "dockerfile.v0",
		FrontendAttrs: req.frontendAttrs(),
		Exporters: []*controlapi.Exporter{{Type: exporterMoby,
			Attrs: map[string]string{"name": strings.Join(req.Tags, ",")}}},
		// An internal build leaves no build-history record.
		Internal: !history,
	}
	if req.Network == "host" {
		// As dockerd: asking for the host's network is asking for the
		// entitlement, which the daemon grants.
		sreq.Entitlements = []string{string(entitlements.EntitlementNetworkHost)}
	}
	return sreq
}

// statusStream is the controller's Status stream, in process.
type statusStream struct {
	grpc.ServerStream
	ctx  context.Context
	send func([]byte)
}

func (s *statusStream) Context() context.Context     { return s.ctx }
func (s *statusStream) SetHeader(metadata.MD) error  { return nil }
func (s *statusStream) SendHeader(metadata.MD) error { return nil }
func (s *statusStream) SetTrailer(metadata.MD)       {}

func (s *statusStream) Send(m *controlapi.StatusResponse) error { return s.SendMsg(m) }
func (s *statusStream) RecvMsg(any) error                       { return nil }

func (s *statusStream) SendMsg(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("build status: unexpected %T", m)
	}
	dt, err := proto.Marshal(pm)
	if err != nil {
		return fmt.Errorf("marshal build status: %w", err)
	}
	s.send(dt)
	return nil
}
