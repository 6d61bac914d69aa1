package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
)

// index maps familiar references ("busybox:latest",
// "example.com/app@sha256:...") to image ids. Guarded by Store.mu.
type index struct {
	Refs map[string]string `json:"refs"`
}

func (s *Store) indexPath() string { return filepath.Join(s.cfg.Root, "repositories.json") }

func (s *Store) readIndex() (*index, error) {
	idx := &index{Refs: map[string]string{}}
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	if idx.Refs == nil {
		idx.Refs = map[string]string{}
	}
	return idx, nil
}

func (s *Store) writeIndex(idx *index) error {
	if err := writeJSON(s.indexPath(), idx); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// parseRef parses a user's image reference, with Docker's defaults
// (docker.io, library/, :latest) and plain HTTP for insecure registries.
func (s *Store) parseRef(ref string) (name.Reference, error) {
	opts := []name.Option{name.WeakValidation}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	if slices.Contains(s.cfg.Insecure, r.Context().RegistryStr()) {
		r, err = name.ParseReference(ref, append(opts, name.Insecure)...)
	}
	return r, err
}

// familiar renders a reference the way docker images shows it.
func familiar(r name.Reference) string {
	repo := r.Context().RepositoryStr()
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry || reg == "docker.io" {
		repo = strings.TrimPrefix(repo, "library/")
	} else {
		repo = reg + "/" + repo
	}
	if d, ok := r.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + r.Identifier()
}

// familiarRepo is familiar without the tag or digest.
func familiarRepo(r name.Reference) string {
	f := familiar(r)
	if i := strings.LastIndexAny(f, ":@"); i > strings.LastIndex(f, "/") {
		return f[:i]
	}
	return f
}

// Get finds an image by reference, full id or unique id prefix.
func (s *Store) Get(ref string) (*Image, error) {
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
	return s.withRefs(idx, id)
}

// resolve turns a reference or id into an image id.
func (s *Store) resolve(idx *index, ref string) (string, error) {
	if r, err := s.parseRef(ref); err == nil {
		if id, ok := idx.Refs[familiar(r)]; ok {
			return id, nil
		}
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	if len(hex) >= 4 && strings.Trim(hex, "0123456789abcdef") == "" {
		// A whole id names its record: no need to read every other one
		// (a build looks up each step's image by id).
		if len(hex) == 64 {
			if p, err := s.recordPath("sha256:" + hex); err == nil {
				if _, err := os.Stat(p); err == nil {
					return "sha256:" + hex, nil
				}
			}
		}
		recs, err := s.records()
		if err != nil {
			return "", err
		}
		var found []string
		for _, r := range recs {
			if strings.HasPrefix(strings.TrimPrefix(r.ID, "sha256:"), hex) {
				found = append(found, r.ID)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return "", fmt.Errorf("image %s: ambiguous id prefix: %w", ref, errdefs.ErrInvalidArgument)
		}
	}
	return "", errdefs.Newf(errdefs.ErrNotFound, "No such image: %s", ref)
}

func (s *Store) withRefs(idx *index, id string) (*Image, error) {
	img, err := s.readRecord(id)
	if err != nil {
		return nil, err
	}
	for ref, to := range idx.Refs {
		if to != id {
			continue
		}
		if strings.Contains(ref, "@") {
			img.RepoDigests = append(img.RepoDigests, ref)
		} else {
			img.RepoTags = append(img.RepoTags, ref)
		}
	}
	slices.Sort(img.RepoTags)
	slices.Sort(img.RepoDigests)
	return img, nil
}

// List returns every image with its tags and digests.
func (s *Store) List() ([]*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(recs))
	for _, r := range recs {
		img, err := s.withRefs(idx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// Tag makes target (a reference or id) also known as ref.
func (s *Store) Tag(target, ref string) error {
	r, err := s.parseRef(ref)
	if err != nil {
		return err
	}
	if _, ok := r.(name.Tag); !ok {
		return fmt.Errorf("tag %s: not a tag: %w", ref, errdefs.ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	id, err := s.resolve(idx, target)
	if err != nil {
		return err
	}
	idx.Refs[familiar(r)] = id
	return s.writeIndex(idx)
}

// commit records img and points refs at it. Its blobs and snapshots must
// be in place: the record is what makes them an image.
func (s *Store) commit(img *Image, refs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.recordPath(img.ID)
	if err != nil {
		return err
	}
	if err := writeJSONChanged(p, img); err != nil {
		return fmt.Errorf("write image %s: %w", img.ID, err)
	}
	if len(refs) == 0 {
		// An untagged image (a build step's) changes no ref: the index
		// needs no rewrite, and its two fsyncs cost a step more than
		// its own metadata.
		return nil
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	changed := false
	for _, ref := range refs {
		r, err := s.parseRef(ref)
		if err != nil {
			return err
		}
		if k := familiar(r); idx.Refs[k] != img.ID {
			idx.Refs[k], changed = img.ID, true
		}
	}
	if !changed {
		return nil // a rebuild under the same tags
	}
	return s.writeIndex(idx)
}

// writeJSONChanged is writeJSON that leaves a file already holding the
// same bytes alone (a rebuild's image record): rewriting it costs two
// fsyncs.
func writeJSONChanged(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return atomicfile.WriteFile(path, b, 0o600)
}
