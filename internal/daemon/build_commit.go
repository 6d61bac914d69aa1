package daemon

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/trace"
)

// commitLinked commits the build layer ctr (one Mount made for COPY, ADD
// or WORKDIR, never a container's) with its snapshot taken from the
// upper directory by hard links (image.CommitUpper): the step's files
// are not written a second time. The layer is removed right after the
// commit and nothing writes to it meanwhile, so the links see no change.
// ok is false when the layer is not for linking (not a build layer, no
// change, a runtime mount point in it, an overlay feature): nothing was
// made and the caller commits as usual.
func (e *BuildEngine) commitLinked(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile, cc *container.Config) (*image.Image, bool, error) {
	e.mu.Lock()
	_, mounted := e.mounts[ctr]
	e.mu.Unlock()
	if !mounted {
		return nil, false, nil
	}
	snaps := e.d.images.Snapshots()
	upper, err := snaps.UpperDir(ctr)
	if err != nil {
		return nil, false, err
	}
	// The tar leaves out what skipMountPoint skips; the links would not.
	for mp := range mountPoints {
		if _, err := os.Lstat(filepath.Join(upper, mp)); err == nil {
			return nil, false, nil
		}
	}
	var pimg *image.Image
	var lower []string
	if parent != "" {
		if pimg, err = e.d.images.Get(parent); err != nil {
			return nil, false, err
		}
		if top := pimg.TopChainID(); top != "" {
			if lower, err = snaps.Chain(top); err != nil {
				return nil, false, err
			}
		}
	}
	u := archive.Upper{Dir: upper, Lower: lower, Skip: skipMountPoint(upper)}
	if empty, err := u.Empty(); err != nil || empty {
		return nil, false, err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := u.Tar(pw)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	var ccAny any
	if cc != nil {
		ccAny = cc
	}
	trace.Mark("build", "commit: linking the upper directory")
	img, err := e.d.images.CommitUpper(ctx, pimg, pr, upper, cfg, ccAny)
	if errors.Is(err, snapshot.ErrNotLinkable) {
		return nil, false, nil
	}
	return img, err == nil, err
}
