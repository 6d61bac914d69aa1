package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

func (c *CRI) criImage(img *image.Image) *runtimeapi.Image {
	out := &runtimeapi.Image{
		Id: img.ID, RepoTags: c.hideMirrors(img.RepoTags), RepoDigests: c.repoDigests(img),
		Size: uint64(img.Size), Spec: &runtimeapi.ImageSpec{Image: img.ID},
	}
	if cfg, err := c.d.images.Config(img); err == nil {
		user, _, _ := strings.Cut(cfg.Config.User, ":")
		if uid, err := strconv.ParseInt(user, 10, 64); err == nil {
			out.Uid = &runtimeapi.Int64Value{Value: uid}
		} else {
			out.Username = user
		}
	}
	return out
}

// ListImages lists the store's images (a filter names one).
func (c *CRI) ListImages(ctx context.Context, f *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	if ref := f.GetImage().GetImage(); ref != "" {
		img, err := c.ImageStatus(ctx, ref)
		if err != nil || img == nil {
			return []*runtimeapi.Image{}, err
		}
		return []*runtimeapi.Image{img}, nil
	}
	imgs, err := c.d.images.List()
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.Image, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, c.criImage(img))
	}
	return out, nil
}

// ImageStatus is nil, nil for an image the store lacks.
func (c *CRI) ImageStatus(ctx context.Context, ref string) (*runtimeapi.Image, error) {
	img, err := c.d.images.Get(ref)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.criImage(img), nil
}

// splitRegistry cuts the registry host off a reference, Docker's way: the
// first component is a host if it has a "." or ":" or is localhost.
func splitRegistry(ref string) (host, rest string) {
	first, after, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, after
	}
	return "docker.io", ref
}

// PullImage pulls ref, through the configured mirrors when its registry
// has any (never falling back to the registry itself), and returns the
// image id.
func (c *CRI) PullImage(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (string, error) {
	ctx, err := pullContext(ctx, auth)
	if err != nil {
		return "", err
	}
	host, rest := splitRegistry(ref)
	mirrors := c.cfg.RegistryMirrors[host]
	if len(mirrors) == 0 {
		img, err := c.d.images.Pull(ctx, ref, nil)
		if err != nil {
			return "", err
		}
		return img.ID, nil
	}
	var errs []error
	for _, m := range mirrors {
		mhost := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "http://"), "https://"), "/")
		mref := mhost + "/" + rest
		img, err := c.d.images.Pull(ctx, mref, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := c.renameMirrored(img, ref, mhost); err != nil {
			return "", err
		}
		return img.ID, nil
	}
	return "", fmt.Errorf("pull %s through its mirrors: %w", ref, errors.Join(errs...))
}

// renameMirrored names the image pulled from a mirror as the kubelet asked
// for it, and drops the mirror's names.
func (c *CRI) renameMirrored(img *image.Image, ref, mhost string) error {
	if !strings.Contains(ref, "@") {
		if err := c.d.images.Tag(img.ID, ref); err != nil {
			return fmt.Errorf("tag %s: %w", ref, err)
		}
	} else {
		return nil // a digest reference cannot be a tag: keep the mirror's names
	}
	got, err := c.d.images.Get(img.ID)
	if err != nil {
		return err
	}
	// Only the mirror's tag goes: its digest reference names the image
	// itself. criImage hides mirror names.
	for _, r := range got.RepoTags {
		if strings.HasPrefix(r, mhost+"/") {
			if _, err := c.d.images.Remove(r, false, c.d.imageInUse); err != nil {
				return fmt.Errorf("untag %s: %w", r, err)
			}
		}
	}
	return nil
}

// RemoveImage removes a name, or an image by id with all its names.
func (c *CRI) RemoveImage(ctx context.Context, ref string) error {
	img, err := c.d.images.Get(ref)
	if err != nil {
		return err
	}
	byID := strings.TrimPrefix(img.ID, "sha256:") == strings.TrimPrefix(ref, "sha256:") || strings.HasPrefix(img.ID, ref)
	if byID {
		_, err = c.d.images.Remove(img.ID, true, c.d.imageInUse)
	} else {
		_, err = c.d.images.Remove(ref, false, c.d.imageInUse)
	}
	return err
}

// ImageFsInfo reports the image store's size.
func (c *CRI) ImageFsInfo(ctx context.Context) ([]*runtimeapi.FilesystemUsage, error) {
	imgs, err := c.d.images.List()
	if err != nil {
		return nil, err
	}
	var used uint64
	for _, img := range imgs {
		used += uint64(img.Size)
	}
	return []*runtimeapi.FilesystemUsage{{
		Timestamp: time.Now().UnixNano(), FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: filepath.Join(c.d.cfg.Root, "image")},
		UsedBytes: &runtimeapi.UInt64Value{Value: used}, InodesUsed: &runtimeapi.UInt64Value{Value: uint64(len(imgs))},
	}}, nil
}

// hideMirrors drops the names an image got from a registry mirror.
func (c *CRI) hideMirrors(names []string) []string {
	out := []string{}
	for _, n := range names {
		host, _ := splitRegistry(n)
		if !c.isMirror(host) {
			out = append(out, n)
		}
	}
	return out
}

func (c *CRI) isMirror(host string) bool {
	for _, ms := range c.cfg.RegistryMirrors {
		for _, m := range ms {
			if strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "http://"), "https://"), "/") == host {
				return true
			}
		}
	}
	return false
}

// repoDigests are the image's digest names, a mirror's given under the
// registry names its tags have (what the kubelet pulled).
func (c *CRI) repoDigests(img *image.Image) []string {
	out := c.hideMirrors(img.RepoDigests)
	tags := c.hideMirrors(img.RepoTags)
	for _, d := range img.RepoDigests {
		host, rest := splitRegistry(d)
		if !c.isMirror(host) {
			continue
		}
		path, dig, _ := strings.Cut(rest, "@")
		for _, t := range tags {
			th, tr := splitRegistry(t)
			if i := strings.LastIndex(tr, ":"); i > 0 && tr[:i] == path {
				if n := th + "/" + path + "@" + dig; !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}
