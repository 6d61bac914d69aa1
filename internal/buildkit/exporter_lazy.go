package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strconv"

	"github.com/containerd/containerd/v2/pkg/labels"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/result"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pier-engine/pier/internal/archive"
)

// Lazy layers: the moby exporter's layers without BuildKit's blobs.
//
// BuildKit's image writer asks each new layer for its blob: it tars the
// step's overlay upper directory, gzips it into its content store and
// syncs it (0.3–1.7 s per 50 MB on a loaded 2-core machine), although
// pier's store only links the upper directory's files. So when the
// result is one image going into pier's store and nothing else (no push,
// no inline cache, no compression asked, no rewritten timestamps), the
// exporter names each layer that has no blob by its diff id instead: the
// sha256 of archive.LayerTar over the layer's own directory, read once
// and not written anywhere. The manifest lists such a layer as an
// uncompressed tar whose digest is that diff id; pier's store keeps its
// files alone and makes the blob from them, by the same function, when
// save, push or a FROM asks for it (image's lazy layers). The diff id is
// kept in the layer's cache record, so a no-change rebuild reads no file.

// Keys of pier's own values in BuildKit's cache records.
const (
	keyLazyDiffID = "pier.lazy.diffid"
	keyLazySize   = "pier.lazy.size"
	// keyBlob is BuildKit's own key of a record's blob (cache/metadata.go):
	// a layer that has one keeps it.
	keyBlob = "cache.blob"
)

// lazyResult is a result to commit with lazy layers: src with its ref
// wrapped so that BuildKit's image writer gets the layers' descriptors
// from it, and what pier's store needs for the layers it lacks.
type lazyResult struct {
	src *exporter.Source
	// chain is the result's layers, bottom first (released by the caller).
	chain cache.RefList
	// lazy are the digests of the layers without a blob.
	lazy map[digest.Digest]bool
}

// lazyEligible says whether this export may use lazy layers, and which
// ref is the result; ic is the build's inline cache (nil: none).
// Attestations (buildx adds provenance by default) do not matter: the
// writer commits them beside the image's manifest, which pier's store
// takes alone.
func (i *mobyInstance) lazyEligible(src *exporter.Source, ic *result.Result[*exptypes.InlineCacheEntry]) (cache.ImmutableRef, bool) {
	if i.push.push || compressionAsked(i.attrs) || i.opts.RewriteTimestamp || ic != nil {
		return nil, false
	}
	if src.Ref != nil && len(src.Refs) == 0 {
		return src.Ref, true
	}
	if src.Ref == nil && len(src.Refs) == 1 {
		for _, r := range src.Refs {
			return r, r != nil
		}
	}
	return nil, false
}

// planLazy describes each layer of ref: by its blob when BuildKit has
// one, else lazily. ok is false, and nothing is wrong, when the layer
// chain is not one BuildKit's snapshots map one to one (a merged or
// diffed result): the caller exports the usual way.
func (i *mobyInstance) planLazy(ctx context.Context, src *exporter.Source, ref cache.ImmutableRef, g session.Group) (*lazyResult, bool, error) {
	chain := ref.LayerChain()
	descs := make([]ocispecs.Descriptor, len(chain))
	lazy := map[digest.Digest]bool{}
	var dirs []string // the chain's directories, read once if needed
	for n, r := range chain {
		if d, ok := lazyDesc(r); ok {
			descs[n], lazy[d.Digest] = d, true
			continue
		}
		if r.GetString(keyBlob) != "" {
			remotes, err := r.GetRemotes(ctx, false, i.opts.RefCfg, false, g)
			if err == nil && len(remotes) > 0 && len(remotes[0].Descriptors) == n+1 {
				descs[n] = remotes[0].Descriptors[n]
				continue
			}
		}
		if dirs == nil {
			var ok bool
			if dirs, ok = chainDirs(ctx, chain, g); !ok {
				chain.Release(context.WithoutCancel(ctx))
				return nil, false, nil
			}
		}
		d, err := diffLayer(r, dirs[n])
		if err != nil {
			chain.Release(context.WithoutCancel(ctx))
			return nil, false, err
		}
		descs[n], lazy[d.Digest] = d, true
	}
	out := src.Clone()
	wrapped := lazyRef{ImmutableRef: ref, remote: &solver.Remote{Descriptors: descs}}
	if src.Ref != nil {
		out.Ref = wrapped
	} else {
		out.Refs = map[string]cache.ImmutableRef{}
		for k := range src.Refs {
			out.Refs[k] = wrapped
		}
	}
	return &lazyResult{src: out, chain: chain, lazy: lazy}, true, nil
}

// lazyDesc is the descriptor of a layer whose diff id an earlier export
// recorded.
func lazyDesc(r cache.ImmutableRef) (ocispecs.Descriptor, bool) {
	d, err := digest.Parse(r.GetString(keyLazyDiffID))
	if err != nil {
		return ocispecs.Descriptor{}, false
	}
	n, err := strconv.ParseInt(r.GetString(keyLazySize), 10, 64)
	if err != nil || n <= 0 {
		return ocispecs.Descriptor{}, false
	}
	return uncompressedDesc(d, n), true
}

func uncompressedDesc(d digest.Digest, size int64) ocispecs.Descriptor {
	// The writer turns the OCI type into Docker's unless OCI types are asked.
	return ocispecs.Descriptor{MediaType: ocispecs.MediaTypeImageLayer, Digest: d, Size: size,
		Annotations: map[string]string{labels.LabelUncompressed: d.String()}}
}

// diffLayer reads the layer's tar from its directory for its diff id and
// size, and records both in the layer's cache record.
func diffLayer(r cache.ImmutableRef, dir string) (ocispecs.Descriptor, error) {
	h := &countingHash{Hash: sha256.New()}
	if err := archive.LayerTar(h, dir); err != nil {
		return ocispecs.Descriptor{}, fmt.Errorf("layer %s: %w", dir, err)
	}
	d := digest.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if err := r.SetString(keyLazySize, strconv.FormatInt(h.n, 10), ""); err != nil {
		return ocispecs.Descriptor{}, fmt.Errorf("record layer size: %w", err)
	}
	if err := r.SetString(keyLazyDiffID, d.String(), ""); err != nil {
		return ocispecs.Descriptor{}, fmt.Errorf("record layer diff id: %w", err)
	}
	return uncompressedDesc(d, h.n), nil
}

type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

// chainDirs lists each layer's own directory, when every layer of the
// chain is one snapshot on top of the one below: the mount of layer n has
// n+1 directories, the first n being layer n-1's.
func chainDirs(ctx context.Context, chain cache.RefList, g session.Group) ([]string, bool) {
	var prev []string
	out := make([]string, len(chain))
	for n, r := range chain {
		dirs, ok := refDirs(ctx, r, g)
		if !ok || len(dirs) != n+1 || !slices.Equal(dirs[:n], prev) {
			return nil, false
		}
		out[n], prev = dirs[n], dirs
	}
	return out, true
}

// lazyRef is a result whose layers' descriptors are given: what the
// image writer asks GetRemotes for. The rest is the ref's.
type lazyRef struct {
	cache.ImmutableRef
	remote *solver.Remote
}

func (r lazyRef) GetRemotes(context.Context, bool, cacheconfig.RefConfig, bool, session.Group) ([]*solver.Remote, error) {
	rm := *r.remote
	rm.Descriptors = slices.Clone(r.remote.Descriptors)
	return []*solver.Remote{&rm}, nil
}

// lazyDirs names, for the layers of img that pier's store lacks, their
// directories, and lists which of them are lazy. A lazy layer's files are
// all pier's store can have of it, so one whose directory cannot be named
// fails the export; a layer with a blob is named when its snapshot is
// layer n of its own chain, and otherwise unpacked from the blob.
func (i *mobyInstance) lazyDirs(ctx context.Context, lr *lazyResult, img v1.Image, g session.Group) (map[string]string, []string, error) {
	missing, err := i.e.images.MissingLayers(ctx, img)
	if err != nil || len(missing) == 0 {
		return nil, nil, err
	}
	want := make(map[string]bool, len(missing))
	for _, d := range missing {
		want[d] = true
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("manifest: %w", err)
	}
	if len(m.Layers) != len(lr.chain) {
		return nil, nil, fmt.Errorf("manifest has %d layers, the result %d", len(m.Layers), len(lr.chain))
	}
	dirs := map[string]string{}
	var lazy []string
	for n, l := range m.Layers {
		d := l.Digest.String()
		if !want[d] {
			continue
		}
		own, ok := refDirs(ctx, lr.chain[n], g)
		isLazy := lr.lazy[digest.Digest(d)]
		switch {
		case ok && (isLazy || len(own) == n+1):
			dirs[d] = own[len(own)-1]
			if isLazy {
				lazy = append(lazy, d)
			}
		case isLazy:
			return nil, nil, fmt.Errorf("layer %s: its snapshot directory cannot be named", d)
		}
	}
	return dirs, lazy, nil
}
