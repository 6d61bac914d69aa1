package buildkit

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/contentutil"
	"github.com/moby/buildkit/util/push"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushOpts are the moby exporter's push attributes. buildx's docker
// driver sees BuildKit's snapshotter label on pier's worker, takes the
// daemon for one with direct push (dockerd with the containerd store),
// and leaves `--push` to the exporter instead of calling the Engine
// API's push afterwards.
type pushOpts struct {
	push, byDigest, insecure bool
}

func parsePushOpts(attrs map[string]string) (pushOpts, error) {
	var o pushOpts
	for k, dst := range map[exptypes.ImageExporterOptKey]*bool{
		exptypes.OptKeyPush:         &o.push,
		exptypes.OptKeyPushByDigest: &o.byDigest,
		exptypes.OptKeyInsecure:     &o.insecure,
	} {
		v, ok := attrs[string(k)]
		if !ok {
			continue
		}
		if v == "" {
			*dst = true
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("moby exporter: %s=%q is not a boolean", k, v)
		}
		*dst = b
	}
	return o, nil
}

// pushImage pushes the committed image desc (a manifest, or an index
// with attestations) under each of the exporter's names. The blobs come
// from BuildKit's content store, or, for layers BuildKit has not
// fetched (a base image's, from pier's store), from the result's
// remotes.
func (i *mobyInstance) pushImage(ctx context.Context, src *exporter.Source, sessionID string, desc ocispecs.Descriptor) error {
	if len(i.names) == 0 {
		return fmt.Errorf("moby exporter: push needs an image name")
	}
	refs := make([]cache.ImmutableRef, 0, len(src.Refs)+1)
	if src.Ref != nil {
		refs = append(refs, src.Ref)
	}
	for _, r := range src.Refs {
		if r != nil {
			refs = append(refs, r)
		}
	}
	annotations := map[digest.Digest]map[string]string{}
	provider := contentutil.NewMultiProvider(i.e.content)
	for _, r := range refs {
		remotes, err := r.GetRemotes(ctx, false, i.opts.RefCfg, false, session.NewGroup(sessionID))
		if err != nil {
			return fmt.Errorf("push: layers of %s: %w", r.ID(), err)
		}
		for _, d := range remotes[0].Descriptors {
			provider.Add(d.Digest, remotes[0].Provider)
			sourceAnnotations(annotations, d)
		}
	}
	for _, n := range i.names {
		err := push.Push(ctx, i.e.sessions, sessionID, provider, i.e.content, desc.Digest, n,
			i.push.insecure, i.e.hosts, i.push.byDigest, annotations)
		if err != nil {
			return fmt.Errorf("push %s: %w", n, err)
		}
	}
	return nil
}

// sourceAnnotations keeps a layer's distribution-source annotations,
// which let the pusher mount a blob from another repository of the same
// registry instead of uploading it.
func sourceAnnotations(dst map[digest.Digest]map[string]string, d ocispecs.Descriptor) {
	for k, v := range d.Annotations {
		if !strings.HasPrefix(k, "containerd.io/distribution.source.") {
			continue
		}
		if dst[d.Digest] == nil {
			dst[d.Digest] = map[string]string{}
		}
		dst[d.Digest][k] = v
	}
}
