package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/result"
	"github.com/moby/buildkit/util/compression"
	"github.com/moby/buildkit/util/leaseutil"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pier-engine/pier/internal/trace"
)

// ImageStore is what the moby exporter needs of pier's image store: it
// adds an image from its manifest, config and layer blobs, under names,
// hard-linking the layers whose snapshot directories layerDirs names
// (lazy lists those of them that have no blob: exporter_lazy.go); and it
// says which layers it lacks.
type ImageStore interface {
	PutImage(ctx context.Context, img v1.Image, refs []string, layerDirs map[string]string, lazy []string) (id string, err error)
	MissingLayers(ctx context.Context, img v1.Image) ([]string, error)
}

// mobyExporter commits a result as an image in BuildKit's content store
// (BuildKit's own image writer: config, history, layers) and then hands
// the blobs to pier's image store, as dockerd's moby exporter does with
// its layer store.
type mobyExporter struct {
	writer  *containerimage.ImageWriter
	content content.Store
	leases  leases.Manager
	images  ImageStore
	// For push=true.
	sessions *session.Manager
	hosts    docker.RegistryHosts
}

func (e *mobyExporter) Resolve(ctx context.Context, id int, attrs map[string]string) (exporter.ExporterInstance, error) {
	i := &mobyInstance{e: e, id: id, attrs: attrs}
	// Docker media types, as dockerd's image store holds them, unless
	// the client asks for OCI ones.
	oci := false
	i.opts.OCITypes = &oci
	if _, err := i.opts.Load(ctx, attrs); err != nil {
		return nil, fmt.Errorf("moby exporter: %w", err)
	}
	// gzip's fastest level unless the client asks otherwise: the layers
	// only go into pier's store (dockerd's moby exporter does not
	// compress at all), and the default level costs ~1.1 s per 50 MB of
	// incompressible data on a 2-core machine, level 1 ~0.11 s. Load
	// sets the default from attrs, so this comes after it.
	if !compressionAsked(attrs) {
		i.opts.RefCfg.Compression = compression.New(compression.Gzip).SetLevel(1)
	}
	push, err := parsePushOpts(attrs)
	if err != nil {
		return nil, err
	}
	i.push = push
	for _, n := range strings.Split(i.opts.ImageName, ",") {
		if n = strings.TrimSpace(n); n != "" {
			i.names = append(i.names, n)
		}
	}
	return i, nil
}

// compressionAsked reports whether the exporter's attributes choose the
// layers' compression or its level (BuildKit's compression.ParseAttributes
// keys).
func compressionAsked(attrs map[string]string) bool {
	for _, k := range []string{"compression", "compression-level", "force-compression"} {
		if _, ok := attrs[k]; ok {
			return true
		}
	}
	return false
}

type mobyInstance struct {
	e     *mobyExporter
	id    int
	attrs map[string]string
	opts  containerimage.ImageCommitOpts
	names []string
	push  pushOpts
}

func (i *mobyInstance) ID() int                  { return i.id }
func (i *mobyInstance) Name() string             { return "exporting to image" }
func (i *mobyInstance) Type() string             { return exporterMoby }
func (i *mobyInstance) Attrs() map[string]string { return i.attrs }
func (i *mobyInstance) Config() *exporter.Config {
	return exporter.NewConfigWithCompression(i.opts.RefCfg.Compression)
}

func (i *mobyInstance) Export(ctx context.Context, src *exporter.Source, info exporter.ExportBuildInfo) (map[string]string, exporter.FinalizeFunc, exporter.DescriptorReference, error) {
	// The lease keeps the committed manifest and config from BuildKit's
	// garbage collector until pier's store has its own copies.
	ctx, done, err := leaseutil.WithLease(ctx, i.e.leases, leaseutil.MakeTemporary)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("moby exporter lease: %w", err)
	}
	defer done(context.WithoutCancel(ctx))

	// The inline cache is asked for once: whether there is one decides
	// the way of export, and the writer gets the same.
	var ic *result.Result[*exptypes.InlineCacheEntry]
	if info.InlineCache != nil {
		if ic, err = info.InlineCache(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("inline cache: %w", err)
		}
	}
	trace.Mark("pier-buildkitd", "export start")
	commitSrc := src
	var lr *lazyResult
	if ref, ok := i.lazyEligible(src, ic); ok {
		var planned bool
		lr, planned, err = i.planLazy(ctx, src, ref, session.NewGroup(info.SessionID))
		if err != nil {
			return nil, nil, nil, err
		}
		if planned {
			defer lr.chain.Release(context.WithoutCancel(ctx))
			commitSrc = lr.src
		} else {
			lr = nil
		}
	}
	trace.Mark("pier-buildkitd", "export layers described")
	inline := func(context.Context) (*result.Result[*exptypes.InlineCacheEntry], error) { return ic, nil }
	desc, _, err := i.e.writer.Commit(ctx, commitSrc, info.SessionID, inline, &i.opts, info.CompatibilityVersion, exporterMoby)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("commit image: %w", err)
	}
	trace.Mark("pier-buildkitd", "export image committed")
	mdesc, err := i.manifest(ctx, *desc)
	if err != nil {
		return nil, nil, nil, err
	}
	img, err := newContentImage(ctx, i.e.content, mdesc)
	if err != nil {
		return nil, nil, nil, err
	}
	var dirs map[string]string
	var lazy []string
	if lr != nil {
		dirs, lazy, err = i.lazyDirs(ctx, lr, img, session.NewGroup(info.SessionID))
	} else {
		dirs, err = i.layerDirs(ctx, src, img, info.SessionID)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	trace.Mark("pier-buildkitd", "export layer dirs named")
	id, err := i.e.images.PutImage(ctx, img, i.names, dirs, lazy)
	trace.Mark("pier-buildkitd", "export put in pier's store")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store image: %w", err)
	}
	// Pushed here, not in a finalize callback, so that the lease still
	// holds the committed manifest and config.
	if i.push.push {
		if err := i.pushImage(ctx, src, info.SessionID, *desc); err != nil {
			return nil, nil, nil, err
		}
	}
	resp := map[string]string{
		exptypes.ExporterImageConfigDigestKey: id,
		exptypes.ExporterImageDigestKey:       id,
	}
	if len(i.names) > 0 {
		resp["image.name"] = strings.Join(i.names, ",")
	}
	return resp, nil, nil, nil
}

// layerDirs names the snapshot directories of the layers pier's store
// lacks, when the result is one platform's.
func (i *mobyInstance) layerDirs(ctx context.Context, src *exporter.Source, img v1.Image, sessionID string) (map[string]string, error) {
	ref := src.Ref
	if ref == nil && len(src.Refs) == 1 {
		for _, r := range src.Refs {
			ref = r
		}
	}
	if ref == nil {
		return nil, nil
	}
	missing, err := i.e.images.MissingLayers(ctx, img)
	if err != nil || len(missing) == 0 {
		return nil, err
	}
	want := make(map[string]bool, len(missing))
	for _, d := range missing {
		want[d] = true
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	var m ocispecs.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	return layerDirs(ctx, ref, i.opts.RefCfg, m.Layers, want, session.NewGroup(sessionID)), nil
}

// manifest picks the platform's manifest when the writer made an index
// (a multi-platform result): pier's store holds one platform per image.
func (i *mobyInstance) manifest(ctx context.Context, desc ocispecs.Descriptor) (ocispecs.Descriptor, error) {
	if desc.MediaType != ocispecs.MediaTypeImageIndex && desc.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
		return desc, nil
	}
	b, err := content.ReadBlob(ctx, i.e.content, desc)
	if err != nil {
		return desc, fmt.Errorf("read index %s: %w", desc.Digest, err)
	}
	var idx ocispecs.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return desc, fmt.Errorf("parse index %s: %w", desc.Digest, err)
	}
	want := platforms.Default()
	for _, m := range idx.Manifests {
		if m.Platform != nil && want.Match(*m.Platform) {
			return m, nil
		}
	}
	return desc, fmt.Errorf("index %s has no manifest for %s", desc.Digest, platforms.DefaultString())
}
