package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/errdefs"
)

// maxManifestSize caps what load reads of manifest.json and index.json:
// docker's own are a few kB per image.
const maxManifestSize = 16 << 20

// checkTree refuses an unpacked load archive that holds anything but
// directories and regular files, or a symlink that does not resolve to
// one of those inside the tree. What go-containerregistry's readers open
// by path afterwards can then only be the archive's own files.
func checkTree(root *os.Root) error {
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t.IsDir(), t.IsRegular():
			return nil
		case t&fs.ModeSymlink != 0:
			fi, err := root.Stat(p)
			if err != nil {
				return fmt.Errorf("%s: symlink does not resolve inside the archive: %w", p, errors.Join(err, errdefs.ErrInvalidArgument))
			}
			if !fi.Mode().IsRegular() && !fi.IsDir() {
				return fmt.Errorf("%s: symlink to a %s: %w", p, fi.Mode().Type(), errdefs.ErrInvalidArgument)
			}
			return nil
		default:
			return fmt.Errorf("%s: a %s, not a regular file: %w", p, t, errdefs.ErrInvalidArgument)
		}
	})
}

// readRegular reads name inside root, which must be a regular file of
// at most max bytes. O_NONBLOCK keeps a FIFO from blocking the open.
func readRegular(root *os.Root, name string, max int64) ([]byte, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: a %s, not a regular file: %w", name, fi.Mode().Type(), errdefs.ErrInvalidArgument)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than %d: %w", name, fi.Size(), max, errdefs.ErrInvalidArgument)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", name, max, errdefs.ErrInvalidArgument)
	}
	return b, nil
}

// parseIndex parses an OCI layout's index.json.
func parseIndex(b []byte) (*v1.IndexManifest, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", errors.Join(err, errdefs.ErrInvalidArgument))
	}
	for i, d := range im.Manifests {
		if d.Digest.Algorithm == "" || d.Digest.Hex == "" {
			return nil, fmt.Errorf("index.json: manifest %d has no digest: %w", i, errdefs.ErrInvalidArgument)
		}
	}
	return im, nil
}

// parseDockerManifest parses docker save's manifest.json.
func parseDockerManifest(b []byte) ([]dockerManifest, error) {
	var dms []dockerManifest
	if err := json.Unmarshal(b, &dms); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", errors.Join(err, errdefs.ErrInvalidArgument))
	}
	for i, dm := range dms {
		if dm.Config == "" {
			return nil, fmt.Errorf("manifest.json: image %d has no Config: %w", i, errdefs.ErrInvalidArgument)
		}
	}
	return dms, nil
}
