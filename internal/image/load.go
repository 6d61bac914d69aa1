package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Load reads a docker save archive or an OCI image layout tar (plain or
// compressed) and stores its images with their tags, like docker load.
// It returns the images loaded.
//
// The archive is untrusted: it is unpacked into a private temporary
// directory (removed on every return, and by the start-up sweep after a
// crash), and that tree is checked before anything reads it: every entry
// is a directory or a regular file, and a symlink must resolve to one
// of those inside the tree. A manifest.json that links to a host file,
// a FIFO that would block the load, or a link to /dev/zero is refused.
func (s *Store) Load(ctx context.Context, r io.Reader) (imgs []*Image, err error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Root, "ingest"), "load-")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.RemoveAll(dir)
	tarPath, tree, err := unpackLoad(ctx, r, dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	root, err := os.OpenRoot(tree)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer root.Close()
	if err := checkTree(root); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	idx, err := readRegular(root, "index.json", maxManifestSize)
	switch {
	case err == nil:
		if _, err := parseIndex(idx); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		return s.LoadLayout(ctx, tree)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("load: %w", err)
	}
	return s.loadDocker(ctx, root, tarPath)
}

// unpackLoad writes the decompressed archive to dir/archive.tar (the
// docker-archive reader seeks in it) and unpacks it into dir/tree.
func unpackLoad(ctx context.Context, r io.Reader, dir string) (tarPath, tree string, err error) {
	tr, err := decompress.Open(r)
	if err != nil {
		return "", "", err
	}
	defer tr.Close()
	tarPath = filepath.Join(dir, "archive.tar")
	f, err := os.OpenFile(tarPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, tr); err != nil {
		return "", "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	tree = filepath.Join(dir, "tree")
	if err := os.Mkdir(tree, 0o700); err != nil {
		return "", "", err
	}
	opts := archive.Options{Unprivileged: true, Whiteouts: archive.WhiteoutApply}
	if err := archive.Extract(ctx, f, tree, opts); err != nil {
		return "", "", err
	}
	return tarPath, tree, nil
}

// LoadLayout stores the images of the OCI image layout at dir, keeping
// their manifests (and so their digests); images are tagged from the
// io.containerd.image.name annotation.
func (s *Store) LoadLayout(ctx context.Context, dir string) ([]*Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	var out []*Image
	for _, d := range im.Manifests {
		ref := d.Annotations[annotationImageName]
		var rimg v1.Image
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			cm, err := child.IndexManifest()
			if err != nil {
				return nil, err
			}
			plat, err := s.platform()
			if err != nil {
				return nil, err
			}
			pd, err := pickPlatform(cm, plat)
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", ref, err)
			}
			rimg, err = child.Image(pd)
		} else {
			rimg, err = idx.Image(d.Digest)
		}
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", d.Digest, err)
		}
		img, err := s.loadImage(ctx, rimg, ref)
		if err != nil {
			return nil, err
		}
		img.RepoTags = archiveTags(img.RepoTags, []string{ref})
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) loadImage(ctx context.Context, rimg v1.Image, ref string) (*Image, error) {
	s.writers.RLock()
	img, err := s.storeImage(ctx, rimg, ref, func(Progress) {})
	s.writers.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	var refs []string
	if r, err := name.ParseReference(ref); err == nil && ref != "" {
		if _, ok := r.(name.Tag); ok {
			refs = append(refs, ref)
		}
	}
	if err := s.commit(img, refs...); err != nil {
		return nil, err
	}
	return s.Get(img.ID)
}

// loadDocker loads a classic docker save archive (manifest.json with
// layer tars, compressed or not), through go-containerregistry's tarball
// reader, which recomputes manifests; image ids stay the same.
func (s *Store) loadDocker(ctx context.Context, root *os.Root, tarPath string) ([]*Image, error) {
	b, err := readRegular(root, "manifest.json", maxManifestSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load: neither index.json nor manifest.json: %w", errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	dms, err := parseDockerManifest(b)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var out []*Image
	for i, dm := range dms {
		var tag *name.Tag
		if len(dm.RepoTags) > 0 {
			t, err := name.NewTag(dm.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			tag = &t
		}
		rimg, err := tarball.ImageFromPath(tarPath, tag)
		if err != nil {
			return nil, fmt.Errorf("load image %d: %w", i, err)
		}
		img, err := s.loadImage(ctx, rimg, "")
		if err != nil {
			return nil, err
		}
		for _, t := range dm.RepoTags {
			if err := s.Tag(img.ID, t); err != nil {
				return nil, err
			}
		}
		if img, err = s.Get(img.ID); err != nil {
			return nil, err
		}
		img.RepoTags = archiveTags(img.RepoTags, dm.RepoTags)
		out = append(out, img)
	}
	return out, nil
}

// archiveTags keeps of tags those the archive itself names: load reports
// what it loaded ("Loaded image: a:b" per archive tag, else the id), not
// every other tag the image already had, as dockerd does.
func archiveTags(tags, archive []string) []string {
	want := map[string]bool{}
	for _, a := range archive {
		if t, err := name.NewTag(a); err == nil {
			want[t.Name()] = true
		}
	}
	var out []string
	for _, t := range tags {
		if nt, err := name.NewTag(t); err == nil && want[nt.Name()] {
			out = append(out, t)
		}
	}
	return out
}
