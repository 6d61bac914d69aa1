package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/archive"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"

	"github.com/pier-engine/pier/internal/trace"
)

// CommitOptions are docker commit's settings (POST /commit).
type CommitOptions struct {
	Reference string // repo[:tag] for the new image, "" for none
	Author    string
	Comment   string
	Pause     bool
	// Config overrides the container's config fields it sets (the API's
	// body); Change then applies --change instructions.
	Config *container.Config
	Change func(*v1.Config) error
}

// ContainerCommit makes an image of a container's changes on top of its
// image, as docker commit does; a running container is paused meanwhile
// when opts.Pause is set.
func (d *Daemon) ContainerCommit(ctx context.Context, ref string, opts CommitOptions) (string, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return "", err
	}
	parent, err := d.images.Get(r.Image)
	if err != nil {
		return "", fmt.Errorf("container %s: image %s: %w", r.ID, r.Image, err)
	}
	pcfg, err := d.images.Config(parent)
	if err != nil {
		return "", err
	}
	if opts.Pause && r.State == container.StateRunning {
		if err := d.ContainerPause(ctx, r.ID); err == nil {
			defer func() { _ = d.ContainerUnpause(context.WithoutCancel(ctx), r.ID) }()
		}
	}
	now := v1.Time{Time: time.Now().UTC()}
	cfg := &v1.ConfigFile{
		Architecture: pcfg.Architecture, OS: pcfg.OS, Variant: pcfg.Variant, OSVersion: pcfg.OSVersion,
		Author: opts.Author, Created: now, Container: r.ID,
		History: append(slices.Clone(pcfg.History), v1.History{
			Created: now, Author: opts.Author, Comment: opts.Comment,
			CreatedBy: strings.TrimSpace(r.Path + " " + strings.Join(r.Args, " ")),
		}),
		Config: mergeCommitConfig(pcfg.Config, r.Config, opts.Config),
	}
	if cfg.Architecture == "" {
		cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
	}
	cfg.Config.Image = parent.ID
	if opts.Change != nil {
		if err := opts.Change(&cfg.Config); err != nil {
			return "", fmt.Errorf("commit %s: %w: %w", r.ID, err, errdefs.ErrInvalidArgument)
		}
	}
	img, err := d.commitImageOf(ctx, parent.ID, r.ID, cfg, r.Config)
	if err != nil {
		return "", err
	}
	if opts.Reference != "" {
		if err := d.images.Tag(img.ID, opts.Reference); err != nil {
			return "", err
		}
	}
	d.emitImage("commit", img.ID, opts.Reference)
	return img.ID, nil
}

// mergeCommitConfig is the image's config with what the container (and
// the request) set on top, as the new image's config.
func mergeCommitConfig(img v1.Config, overs ...*container.Config) v1.Config {
	out := img
	for _, c := range overs {
		if c == nil {
			continue
		}
		if len(c.Cmd) > 0 {
			out.Cmd = c.Cmd
		}
		if c.Entrypoint != nil {
			out.Entrypoint = c.Entrypoint
		}
		for _, kv := range c.Env {
			k, _, _ := strings.Cut(kv, "=")
			i := slices.IndexFunc(out.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
			if i >= 0 {
				out.Env = slices.Clone(out.Env)
				out.Env[i] = kv
			} else {
				out.Env = append(slices.Clone(out.Env), kv)
			}
		}
		if c.WorkingDir != "" {
			out.WorkingDir = c.WorkingDir
		}
		if c.User != "" {
			out.User = c.User
		}
		if c.StopSignal != "" {
			out.StopSignal = c.StopSignal
		}
		for k, v := range c.Labels {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
		}
		for p := range c.ExposedPorts {
			if out.ExposedPorts == nil {
				out.ExposedPorts = map[string]struct{}{}
			}
			out.ExposedPorts[p.String()] = struct{}{}
		}
		for v := range c.Volumes {
			if out.Volumes == nil {
				out.Volumes = map[string]struct{}{}
			}
			out.Volumes[v] = struct{}{}
		}
	}
	return out
}

// commitImage stores an image of parent ("" for none) plus the writable
// layer of ctr ("" for none), with cfg; cfg's last history entry gets
// EmptyLayer when there is no change. The layer is streamed from the
// upper directory into the store; nothing is visible until it is whole.
func (d *Daemon) commitImage(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile) (*image.Image, error) {
	return d.commitImageOf(ctx, parent, ctr, cfg, nil)
}

// commitImageOf is commitImage also writing the container's own config as
// the image config's container_config, as dockerd's commit does.
func (d *Daemon) commitImageOf(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile, ctrCfg *container.Config) (*image.Image, error) {
	var pimg *image.Image
	var lower []string
	snaps := d.images.Snapshots()
	if parent != "" {
		var err error
		if pimg, err = d.images.Get(parent); err != nil {
			return nil, err
		}
		if top := pimg.TopChainID(); top != "" {
			if lower, err = snaps.Chain(top); err != nil {
				return nil, err
			}
		}
	}
	var layer io.Reader
	if ctr != "" {
		upper, err := snaps.UpperDir(ctr)
		if err != nil {
			return nil, err
		}
		u := archive.Upper{Dir: upper, Lower: lower, Skip: skipMountPoint(upper)}
		empty, err := u.Empty()
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", ctr, err)
		}
		if !empty {
			pr, pw := io.Pipe()
			go func() {
				_, err := u.Tar(pw)
				pw.CloseWithError(err)
			}()
			defer pr.Close()
			layer = pr
		}
	}
	trace.Mark("build", "commit: upper walked")
	if layer == nil && len(cfg.History) > 0 {
		cfg.History[len(cfg.History)-1].EmptyLayer = true
	}
	var cc any
	if ctrCfg != nil {
		cc = ctrCfg
	}
	img, err := d.images.CommitContainer(ctx, pimg, layer, cfg, cc)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// ImageLegacyInspect is what image inspect shows only before API 1.45, as
// dockerd's graphdriver store does: the committed container's id and
// config (the config's container and container_config), and the parent,
// a local image a commit was made from (its config's Image).
func (d *Daemon) ImageLegacyInspect(ctx context.Context, ref string) (ctr string, ctrCfg json.RawMessage, parent string, err error) {
	img, err := d.images.Get(ref)
	if err != nil {
		return "", nil, "", err
	}
	l, err := d.images.Legacy(img)
	if err != nil {
		return "", nil, "", err
	}
	if strings.HasPrefix(l.Image, "sha256:") {
		if p, err := d.images.Get(l.Image); err == nil && p.ID == l.Image {
			parent = p.ID
		}
	}
	return l.Container, l.ContainerConfig, parent, nil
}
