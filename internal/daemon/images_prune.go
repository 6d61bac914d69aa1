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
