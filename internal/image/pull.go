package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pier-engine/pier/internal/errdefs"
	"golang.org/x/sync/errgroup"
)

func (s *Store) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(s.keychain(ctx)),
		remote.WithTransport(http.DefaultTransport),
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 2}),
		remote.WithUserAgent("pier"),
	}
}

func (s *Store) platform() (*v1.Platform, error) {
	p := s.cfg.Platform
	if p == "" {
		p = "linux/amd64"
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w: %w", p, err, errdefs.ErrInvalidArgument)
	}
	return plat, nil
}

type platformKey struct{}

// WithPlatform makes the pulls made with ctx pick platform (as
// "linux/arm64/v8") from manifest lists instead of Config.Platform: the
// API's platform is per request, the store's default per daemon.
func WithPlatform(ctx context.Context, platform string) context.Context {
	return context.WithValue(ctx, platformKey{}, platform)
}

// PlatformOf is the platform WithPlatform set on ctx, or "".
func PlatformOf(ctx context.Context) string {
	p, _ := ctx.Value(platformKey{}).(string)
	return p
}

// pullPlatform is ctx's platform, or the store's.
func (s *Store) pullPlatform(ctx context.Context) (*v1.Platform, error) {
	p := PlatformOf(ctx)
	if p == "" {
		return s.platform()
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w: %w", p, err, errdefs.ErrInvalidArgument)
	}
	return plat, nil
}

// Pull fetches ref from its registry, verifies every digest, stores and
// unpacks what is missing, and tags the image. Layers are downloaded
// Config.Jobs at a time and unpacked as their bytes arrive. An interrupted
// pull leaves no image; the layers it completed are reused by the next.
func (s *Store) Pull(ctx context.Context, ref string, progress ProgressFunc) (*Image, error) {
	r, err := s.parseRef(ref)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	img, repoDigest, err := s.fetch(ctx, r, progress)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	refs := []string{familiarRepo(r) + "@" + repoDigest.String()}
	if _, isTag := r.(name.Tag); isTag {
		refs = append(refs, familiar(r))
	}
	if err := s.commit(img, refs...); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	progress(Progress{Image: ref, Status: "Digest: " + repoDigest.String()})
	return s.Get(img.ID)
}

// fetch resolves r to one image manifest for the platform and brings its
// blobs and snapshots into the store; it returns the record to commit and
// the digest the registry named (the index's, for a multi-platform image).
func (s *Store) fetch(ctx context.Context, r name.Reference, progress ProgressFunc) (*Image, v1.Hash, error) {
	opts := s.remoteOptions(ctx)
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	var rimg v1.Image
	switch {
	case desc.MediaType.IsIndex():
		plat, err := s.pullPlatform(ctx)
		if err != nil {
			return nil, v1.Hash{}, err
		}
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, v1.Hash{}, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, v1.Hash{}, err
		}
		d, err := pickPlatform(im, plat)
		if err != nil {
			return nil, v1.Hash{}, err
		}
		if rimg, err = idx.Image(d); err != nil {
			return nil, v1.Hash{}, err
		}
	case desc.MediaType.IsImage():
		if rimg, err = desc.Image(); err != nil {
			return nil, v1.Hash{}, err
		}
	default:
		return nil, v1.Hash{}, fmt.Errorf("manifest media type %q: %w", desc.MediaType, errdefs.ErrNotImplemented)
	}
	s.writers.RLock()
	defer s.writers.RUnlock()
	img, err := s.storeImage(ctx, rimg, familiar(r), progress)
	return img, desc.Digest, err
}

func pickPlatform(im *v1.IndexManifest, want *v1.Platform) (v1.Hash, error) {
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(*want) && m.MediaType.IsImage() {
			return m.Digest, nil
		}
	}
	return v1.Hash{}, fmt.Errorf("no manifest for platform %s: %w", want, errdefs.ErrNotFound)
}

// storeImage brings rimg's manifest, config and layers into the store and
// returns the record that makes them an image.
func (s *Store) storeImage(ctx context.Context, rimg v1.Image, ref string, progress ProgressFunc) (*Image, error) {
	rawManifest, err := rimg.RawManifest()
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if mt := m.MediaType; mt != "" && mt != types.DockerManifestSchema2 && mt != types.OCIManifestSchema1 {
		return nil, fmt.Errorf("manifest media type %q: %w", mt, errdefs.ErrNotImplemented)
	}
	rawConfig, err := rimg.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	layers, err := recordLayers(m, cfg)
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Jobs)
	for i, l := range layers {
		parent := ""
		if i > 0 {
			parent = layers[i-1].ChainID
		}
		g.Go(func() error {
			if err := s.pullLayer(gctx, rimg, l, parent, ref, progress); err != nil {
				return fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return s.putMetadata(rawManifest, rawConfig, m, cfg, layers)
}

// recordLayers pairs the manifest's layers with the config's diff ids.
func recordLayers(m *v1.Manifest, cfg *v1.ConfigFile) ([]Layer, error) {
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("manifest has %d layers, config %d diff ids: %w",
			len(m.Layers), len(cfg.RootFS.DiffIDs), errdefs.ErrInvalidArgument)
	}
	chains := chainIDs(cfg.RootFS.DiffIDs)
	out := make([]Layer, len(m.Layers))
	for i, d := range m.Layers {
		if !layerMediaTypes[d.MediaType] {
			return nil, fmt.Errorf("layer %s: media type %q: %w", d.Digest, d.MediaType, errdefs.ErrNotImplemented)
		}
		out[i] = Layer{Digest: d.Digest, DiffID: cfg.RootFS.DiffIDs[i], ChainID: chains[i], MediaType: string(d.MediaType), Size: d.Size}
	}
	return out, nil
}

// putMetadata stores manifest and config, verified against their digests,
// and builds the image record.
func (s *Store) putMetadata(rawManifest, rawConfig []byte, m *v1.Manifest, cfg *v1.ConfigFile, layers []Layer) (*Image, error) {
	// The two blobs' fsyncs overlap: a build commits one image a step.
	var md v1.Hash
	mdone := make(chan error, 1)
	go func() {
		var err error
		md, err = s.blobs.put(rawManifest, v1.Hash{})
		mdone <- err
	}()
	cd, err := s.blobs.put(rawConfig, m.Config.Digest)
	if merr := <-mdone; merr != nil {
		return nil, fmt.Errorf("manifest: %w", merr)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img := &Image{ID: cd.String(), Manifest: md, Layers: layers, Created: cfg.Created.Time}
	for _, l := range layers {
		img.Size += l.Size
	}
	return img, nil
}

func (s *Store) pullLayer(ctx context.Context, rimg v1.Image, l Layer, parent, ref string, progress ProgressFunc) error {
	id := shortID(l.Digest)
	if s.hasLayer(l) {
		progress(Progress{Image: ref, Layer: id, Status: "Already exists"})
		return nil
	}
	if lf, ok := rimg.(LayerFiles); ok {
		if linked, err := s.linkLayer(ctx, lf, l, parent); linked || err != nil {
			return err
		}
	}
	var rc io.ReadCloser
	if s.blobs.has(l.Digest) {
		f, err := s.blobs.open(l.Digest)
		if err != nil {
			return err
		}
		rc = f
	} else {
		progress(Progress{Image: ref, Layer: id, Status: "Pulling fs layer"})
		rl, err := rimg.LayerByDigest(l.Digest)
		if err != nil {
			return err
		}
		if rc, err = rl.Compressed(); err != nil {
			return err
		}
	}
	defer rc.Close()
	c := &counter{r: rc, every: 512 << 10, fn: func(n int64) {
		progress(Progress{Image: ref, Layer: id, Status: "Downloading", Current: n, Total: l.Size})
	}}
	if err := s.unpackLayer(ctx, c, l, parent); err != nil {
		return err
	}
	progress(Progress{Image: ref, Layer: id, Status: "Pull complete", Current: c.n, Total: l.Size})
	return nil
}
