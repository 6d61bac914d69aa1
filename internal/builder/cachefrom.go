package builder

import (
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// localImager is an Engine that can look an image up without pulling
// it: --cache-from names images to use if they are here, never to fetch.
type localImager interface {
	LocalImage(ctx context.Context, ref string) (string, *v1.ConfigFile, error)
}

// childImager is an Engine that lists the images made on a parent.
type childImager interface {
	Children(ctx context.Context, parent string) ([]string, []*v1.ConfigFile, error)
}

// child finds, when the step's record names an image that is gone (a
// later build of the same step replaced the record, then its image was
// pruned), another image made by the step on the stage's image: the
// newest whose last history entry is the step, as dockerd searches a
// parent's children.
func (bd *build) child(st *stage, cmd string) string {
	ci, ok := bd.engine.(childImager)
	if !ok || st.image == "" {
		return ""
	}
	ids, cfgs, err := ci.Children(bd.ctx, st.image)
	if err != nil {
		return ""
	}
	best := -1
	for i, cfg := range cfgs {
		if lastCreatedBy(cfg) == cmd && len(cfg.History) == len(st.cfg.History)+1 &&
			(best < 0 || cfg.Created.After(cfgs[best].Created.Time)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return ids[best]
}

// cacheImage is one image of a --cache-from chain.
type cacheImage struct {
	id  string
	cfg *v1.ConfigFile
}

// fromCache finds the image a step made before: the step cache's record,
// or with --cache-from dockerd's rule. Then a record counts only when its
// image is one of the named images or their parents, and otherwise a
// step matches an image of those chains whose parent is the stage's
// image and whose last history entry is the step's command; a named
// image's whole history may also extend the stage's image by exactly the
// step (images built elsewhere: pulled or loaded), or continues it with
// the step, whose image is then restored from that image's layer. Names
// that are not here are skipped, as dockerd skips them.
func (bd *build) fromCache(st *stage, probe v1.Config) string {
	key := cacheKey(st.image, probe)
	id := bd.cache.get(key)
	cmd := joinCmd(probe.Cmd)
	if id != "" {
		if _, _, err := bd.lookup(id); err != nil {
			if id = bd.child(st, cmd); id != "" {
				_ = bd.cache.put(key, id) // a record to the image that is here
			}
		}
	}
	if len(bd.opts.CacheFrom) == 0 {
		return id
	}
	for _, chain := range bd.cacheChains() {
		if id != "" && slices.ContainsFunc(chain, func(c cacheImage) bool { return c.id == id }) {
			return id
		}
		for _, c := range chain {
			if c.cfg.Config.Image == st.image && st.image != "" && lastCreatedBy(c.cfg) == cmd &&
				len(c.cfg.History) == len(st.cfg.History)+1 {
				return c.id
			}
		}
		top := chain[0]
		n, ok := continues(top.cfg, st.cfg, cmd)
		if ok && len(top.cfg.History) == n+1 {
			return top.id
		}
		if ok {
			if id := bd.restore(st, top, n); id != "" {
				_ = bd.cache.put(key, id)
				return id
			}
		}
	}
	return ""
}

// cacheChains resolves each --cache-from image and its local parents
// (Config.Image, as pier and dockerd record a build step's parent).
func (bd *build) cacheChains() [][]cacheImage {
	var out [][]cacheImage
	for _, ref := range bd.opts.CacheFrom {
		id, cfg, err := bd.lookup(ref)
		var chain []cacheImage
		seen := map[string]bool{}
		for err == nil && cfg != nil && !seen[id] {
			seen[id] = true
			chain = append(chain, cacheImage{id: id, cfg: cfg})
			if cfg.Config.Image == "" {
				break
			}
			id, cfg, err = bd.lookup(cfg.Config.Image)
		}
		if len(chain) > 0 {
			out = append(out, chain)
		}
	}
	return out
}

func (bd *build) lookup(ref string) (string, *v1.ConfigFile, error) {
	if li, ok := bd.engine.(localImager); ok {
		return li.LocalImage(bd.ctx, ref)
	}
	return bd.engine.Image(bd.ctx, ref, false, "")
}

func lastCreatedBy(cfg *v1.ConfigFile) string {
	if len(cfg.History) == 0 {
		return ""
	}
	return cfg.History[len(cfg.History)-1].CreatedBy
}

// continues is dockerd's isValidParent and isValidConfig: target's
// history and layers start with parent's, and the entry after them, n,
// is cmd.
func continues(target, parent *v1.ConfigFile, cmd string) (n int, ok bool) {
	if parent != nil {
		n = len(parent.History)
	}
	if len(target.History) <= n || target.History[n].CreatedBy != cmd {
		return n, false
	}
	if parent == nil || n == 0 && len(parent.RootFS.DiffIDs) == 0 {
		return n, true
	}
	if len(parent.RootFS.DiffIDs) > len(target.RootFS.DiffIDs) {
		return n, false
	}
	for i, h := range parent.History {
		if !sameHistory(h, target.History[i]) {
			return n, false
		}
	}
	for i, d := range parent.RootFS.DiffIDs {
		if d != target.RootFS.DiffIDs[i] {
			return n, false
		}
	}
	return n, true
}

// restorer is an Engine that can make a step's image from another image's
// layer (Restore in daemon.BuildEngine).
type restorer interface {
	Restore(ctx context.Context, parent, source string, index int, cfg *v1.ConfigFile) (string, error)
}

// restore makes the image of the step that history entry n of the named
// image top records, on the stage's image: what dockerd does when an
// image named by --cache-from was built elsewhere, so that no image of
// its steps is here. The config is the one the step would commit.
func (bd *build) restore(st *stage, top cacheImage, n int) string {
	r, ok := bd.engine.(restorer)
	if !ok {
		return ""
	}
	h := top.cfg.History[n]
	run := cloneConfig(st.run)
	run.Image = st.image
	cfg := &v1.ConfigFile{
		Architecture: top.cfg.Architecture, OS: top.cfg.OS, Variant: top.cfg.Variant, OSVersion: top.cfg.OSVersion,
		Author: top.cfg.Author, Created: h.Created, History: append(slices.Clone(st.cfg.History), h), Config: run,
	}
	id, err := r.Restore(bd.ctx, st.image, top.id, n, cfg)
	if err != nil {
		return ""
	}
	return id
}

func sameHistory(a, b v1.History) bool {
	return a.Created.Equal(b.Created.Time) && a.CreatedBy == b.CreatedBy && a.Author == b.Author &&
		a.Comment == b.Comment && a.EmptyLayer == b.EmptyLayer
}
