package image

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/errdefs"
)

// InUse tells whether a container uses the image id; the daemon knows.
type InUse func(id string) bool

// Deleted is one line of docker rmi's answer: a removed reference or image.
type Deleted struct {
	Untagged string `json:"Untagged,omitempty"`
	Deleted  string `json:"Deleted,omitempty"`
}

// Remove removes a reference, and the image once nothing names it, like
// docker rmi: a tag of an image with other tags is only untagged; an image
// used by a container, or named by id while it has several names, is
// refused (errdefs.ErrConflict) unless force is set.
func (s *Store) Remove(ref string, force bool, inUse InUse) ([]Deleted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, err := s.resolve(idx, ref)
	if err != nil {
		return nil, err
	}
	var names []string
	for r, to := range idx.Refs {
		if to == id && !strings.Contains(r, "@") {
			names = append(names, r)
		}
	}
	byName := ""
	if r, err := s.parseRef(ref); err == nil && idx.Refs[familiar(r)] == id {
		byName = familiar(r)
	}
	var out []Deleted
	if byName != "" && len(names) > 1 {
		delete(idx.Refs, byName)
		out = append(out, Deleted{Untagged: byName})
		out = append(out, dropRepoDigests(idx.Refs, byName, id)...)
		return out, s.writeIndex(idx)
	}
	if !force && byName == "" && len(names) > 1 {
		return nil, fmt.Errorf("image %s is referenced by %d names, use force: %w", ref, len(names), errdefs.ErrConflict)
	}
	if !force && inUse != nil && inUse(id) {
		return nil, fmt.Errorf("image %s is used by a container: %w", ref, errdefs.ErrConflict)
	}
	for r, to := range idx.Refs {
		if to == id {
			delete(idx.Refs, r)
			out = append(out, Deleted{Untagged: r})
		}
	}
	if err := s.writeIndex(idx); err != nil {
		return nil, err
	}
	p, _ := s.recordPath(id)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return out, fmt.Errorf("remove image %s: %w", id, err)
	}
	out = append(out, Deleted{Deleted: id})
	return out, s.gcLocked()
}

// Prune removes dangling images (those without a tag) that no container
// uses, like docker image prune.
func (s *Store) Prune(inUse InUse) ([]Deleted, error) {
	imgs, err := s.List()
	if err != nil {
		return nil, err
	}
	var out []Deleted
	for _, img := range imgs {
		if len(img.RepoTags) > 0 || (inUse != nil && inUse(img.ID)) {
			continue
		}
		d, err := s.Remove(img.ID, false, inUse)
		if err != nil {
			return out, err
		}
		out = append(out, d...)
	}
	return out, nil
}

// GC removes blobs and unpacked layers that no image refers to. Layers a
// container uses stay (the snapshot store knows those).
func (s *Store) GC() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gcLocked()
}

func (s *Store) gcLocked() error {
	if !s.writers.TryLock() {
		return nil // a pull is adding blobs: the next GC collects
	}
	defer s.writers.Unlock()
	recs, err := s.records()
	if err != nil {
		return err
	}
	blobs := map[v1.Hash]bool{}
	chains := map[string]bool{}
	for _, img := range recs {
		cfg, _ := v1.NewHash(img.ID)
		blobs[cfg], blobs[img.Manifest] = true, true
		for _, l := range img.Layers {
			blobs[l.Digest] = true
			chains[l.ChainID] = true
		}
	}
	if _, err := s.snaps.GC(func(id string) bool { return chains[id] }); err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	all, err := s.blobs.blobs()
	if err != nil {
		return err
	}
	for _, d := range all {
		if !blobs[d] {
			if err := os.Remove(s.blobs.path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("gc blob %s: %w", d, err)
			}
		}
	}
	return nil
}

// dropRepoDigests removes the digest references (repo@sha256:...) of
// untagged's repository to id once no tag of that repository names id
// any more, as dockerd does: else `images` shows "repo <none>".
func dropRepoDigests(refs map[string]string, untagged, id string) []Deleted {
	repo := repoOf(untagged)
	for r, to := range refs {
		if to == id && !strings.Contains(r, "@") && repoOf(r) == repo {
			return nil // another tag of the repository still names it
		}
	}
	var out []Deleted
	for r, to := range refs {
		if to == id && strings.HasPrefix(r, repo+"@") {
			delete(refs, r)
			out = append(out, Deleted{Untagged: r})
		}
	}
	slices.SortFunc(out, func(a, b Deleted) int { return strings.Compare(a.Untagged, b.Untagged) })
	return out
}

// repoOf is a familiar reference's repository: "repo:tag" and
// "repo@digest" give "repo" (a registry port's colon is kept).
func repoOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}
