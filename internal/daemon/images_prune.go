package daemon

import (
	"github.com/pier-engine/pier/internal/image"
)

// pruneImages removes the unused images prune may take, as dockerd does:
// an image another image names as its parent (a build step's image under
// a later step) is spared while that child stays, and once a child goes
// its untagged parents become prunable in turn, so a dangling chain of
// step images goes whole and the steps under a tagged image stay (as
// cache). Dangling prune takes untagged images only; all takes tagged
// ones too (with every tag).
func (d *Daemon) pruneImages(imgs []*image.Image, all bool, inUse func(string) bool) ([]image.Deleted, error) {
	left := map[string]*image.Image{}
	for _, img := range imgs {
		left[img.ID] = img
	}
	parents := map[string]string{}
	for id, img := range left {
		cfg, err := d.images.Config(img)
		if err != nil {
			return nil, err
		}
		parents[id] = cfg.Config.Image
	}
	var del []image.Deleted
	for {
		hasChild := map[string]bool{}
		for id := range left {
			hasChild[parents[id]] = true
		}
		removed := false
		for _, img := range imgs {
			if left[img.ID] == nil || hasChild[img.ID] || inUse(img.ID) || (!all && len(img.RepoTags) > 0) {
				continue
			}
			// Force with all: an image with several tags goes with all of
			// them.
			x, err := d.images.Remove(img.ID, all, inUse)
			del = append(del, x...)
			if err != nil {
				return del, err
			}
			delete(left, img.ID)
			removed = true
		}
		if !removed {
			return del, nil
		}
	}
}

// parentOf is the parent image ref's image names (a build step's image
// under it), "" when none or ref names nothing.
func (d *Daemon) parentOf(ref string) string {
	img, err := d.images.Get(ref)
	if err != nil {
		return ""
	}
	cfg, err := d.images.Config(img)
	if err != nil {
		return ""
	}
	return cfg.Config.Image
}

// removeStepParents removes, after an image was deleted, its parent and
// that one's parents while each is untagged, unused and without other
// children, as dockerd's rmi does (the step images of a removed build).
// What cannot go stays; its errors are not the rmi's.
func (d *Daemon) removeStepParents(parent string) []image.Deleted {
	var out []image.Deleted
	for parent != "" {
		img, err := d.images.Get(parent)
		if err != nil || len(img.RepoTags) > 0 || d.imageInUse(img.ID) || d.hasChildren(img.ID) {
			return out
		}
		next := d.parentOf(img.ID)
		x, err := d.images.Remove(img.ID, false, d.imageInUse)
		out = append(out, x...)
		if err != nil {
			return out
		}
		parent = next
	}
	return out
}

func (d *Daemon) hasChildren(id string) bool {
	imgs, err := d.images.List()
	if err != nil {
		return true
	}
	for _, img := range imgs {
		if cfg, err := d.images.Config(img); err != nil || cfg.Config.Image == id {
			return true
		}
	}
	return false
}
