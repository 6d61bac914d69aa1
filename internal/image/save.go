package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// dockerManifest is one entry of docker save's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Save writes the images refs name as one tar that is both an OCI image
// layout (oci-layout, index.json, blobs/) and a docker save archive
// (manifest.json pointing into blobs/), as docker save does since 25.0.
// Blobs are written as stored, so manifest digests survive a Load.
func (s *Store) Save(w io.Writer, refs []string) error {
	tw := tar.NewWriter(w)
	written := map[v1.Hash]bool{}
	var idx v1.IndexManifest
	idx.SchemaVersion, idx.MediaType = 2, types.OCIImageIndex
	var dms []dockerManifest
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		cfg, _ := v1.NewHash(img.ID)
		dm := dockerManifest{Config: blobName(cfg)}
		blobs := []v1.Hash{img.Manifest, cfg}
		for _, l := range img.Layers {
			if err := s.ensureBlob(l); err != nil {
				return fmt.Errorf("save %s: %w", ref, err)
			}
			blobs = append(blobs, l.Digest)
			dm.Layers = append(dm.Layers, blobName(l.Digest))
		}
		for _, b := range blobs {
			if !written[b] {
				if err := s.saveBlob(tw, b); err != nil {
					return fmt.Errorf("save %s: %w", ref, err)
				}
				written[b] = true
			}
		}
		l, err := s.local(img)
		if err != nil {
			return err
		}
		desc := v1.Descriptor{MediaType: l.mt, Digest: img.Manifest, Size: int64(len(l.manifest))}
		if r, err := s.parseRef(ref); err == nil && ref != img.ID {
			desc.Annotations = map[string]string{annotationImageName: r.Name(), annotationRefName: r.Identifier()}
			dm.RepoTags = []string{familiar(r)}
		}
		idx.Manifests = append(idx.Manifests, desc)
		dms = append(dms, dm)
	}
	for name, v := range map[string]any{"index.json": idx, "manifest.json": dms,
		"oci-layout": map[string]string{"imageLayoutVersion": "1.0.0"}} {
		if err := tarJSON(tw, name, v); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	return tw.Close()
}

func blobName(d v1.Hash) string { return "blobs/sha256/" + d.Hex }

func (s *Store) saveBlob(tw *tar.Writer, d v1.Hash) error {
	f, err := s.blobs.open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: blobName(d), Mode: 0o444, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func tarJSON(tw *tar.Writer, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}
