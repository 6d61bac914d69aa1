package daemon

import (
	"context"
	"errors"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/build"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// BuildCacheEntry is one record of the classic builder's step cache: the
// image a step made.
type BuildCacheEntry struct {
	Key   string
	Image string
}

// buildCachePlan is what the step cache holds and what pruning it frees:
// the step images nothing tags and no container uses go (they are cache
// only; a tagged image and what a container runs stay), and the space
// freed is that of the layers only those images hold.
type buildCachePlan struct {
	records []build.CacheRecord
	doomed  []string        // image ids prune removes
	forget  map[string]bool // record keys prune forgets
	reclaim int64
}

func (d *Daemon) planBuildCache(entries []BuildCacheEntry, all bool) (buildCachePlan, error) {
	p := buildCachePlan{forget: map[string]bool{}}
	imgs, err := d.images.List()
	if err != nil {
		return p, err
	}
	byID := map[string]*image.Image{}
	for _, img := range imgs {
		byID[img.ID] = img
	}
	doomed := map[string]bool{}
	for _, e := range entries {
		img := byID[e.Image]
		switch {
		case img == nil:
			p.forget[e.Key] = true // its image is gone: a miss already
		case len(img.RepoTags) == 0 && !d.imageInUse(img.ID):
			p.forget[e.Key] = true
			if !doomed[img.ID] {
				doomed[img.ID] = true
				p.doomed = append(p.doomed, img.ID)
			}
		case all:
			p.forget[e.Key] = true
		}
	}
	kept := map[v1.Hash]bool{}
	sizes := map[v1.Hash]int64{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			sizes[l.Digest] = l.Size
			if !doomed[img.ID] {
				kept[l.Digest] = true
			}
		}
	}
	freed := map[v1.Hash]bool{}
	for id := range doomed {
		for _, l := range byID[id].Layers {
			if !kept[l.Digest] && !freed[l.Digest] {
				freed[l.Digest] = true
				p.reclaim += l.Size
			}
		}
	}
	for _, e := range entries {
		img := byID[e.Image]
		if img == nil {
			continue
		}
		rec, err := d.cacheRecord(e, img, kept)
		if err != nil {
			return p, err
		}
		p.records = append(p.records, rec)
	}
	return p, nil
}

// cacheRecord describes one step as BuildKit's df describes a record:
// its own layer's size (0 for a metadata-only step), shared when that
// layer stays after a prune (a tagged image or a container holds it).
func (d *Daemon) cacheRecord(e BuildCacheEntry, img *image.Image, kept map[v1.Hash]bool) (build.CacheRecord, error) {
	cfg, err := d.images.Config(img)
	if err != nil {
		return build.CacheRecord{}, err
	}
	created := img.Created
	rec := build.CacheRecord{ID: e.Key, Type: "regular", CreatedAt: created, InUse: d.imageInUse(img.ID)}
	if n := len(cfg.History); n > 0 {
		h := cfg.History[n-1]
		rec.Description = strings.TrimPrefix(strings.TrimPrefix(h.CreatedBy, "/bin/sh -c "), "#(nop) ")
		if !h.EmptyLayer && len(img.Layers) > 0 {
			own := img.Layers[len(img.Layers)-1]
			rec.Size = own.Size
			rec.Shared = kept[own.Digest]
		}
	}
	if len(img.RepoTags) > 0 {
		rec.Shared = true
	}
	rec.LastUsedAt = &created
	return rec, nil
}

// BuildCacheUsage is /system/df's BuildCache for the classic builder's
// step cache.
func (d *Daemon) BuildCacheUsage(ctx context.Context, entries []BuildCacheEntry) (*build.DiskUsage, error) {
	p, err := d.planBuildCache(entries, false)
	if err != nil {
		return nil, err
	}
	u := &build.DiskUsage{Items: p.records, Reclaimable: p.reclaim}
	for _, r := range p.records {
		u.TotalCount++
		u.TotalSize += r.Size
		if r.InUse {
			u.ActiveCount++
		}
	}
	return u, nil
}

// BuildCachePrune removes the step images that are cache only and
// returns the records to forget and the space freed, which is what
// BuildCacheUsage reported as reclaimable.
func (d *Daemon) BuildCachePrune(ctx context.Context, entries []BuildCacheEntry, all bool) (map[string]bool, int64, error) {
	p, err := d.planBuildCache(entries, all)
	if err != nil {
		return nil, 0, err
	}
	for _, id := range p.doomed {
		// Gone already, or a container was made from it since: it stays.
		_, err := d.ImageRemove(ctx, id, false)
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) && !errors.Is(err, errdefs.ErrConflict) {
			return nil, 0, err
		}
	}
	return p.forget, p.reclaim, nil
}
