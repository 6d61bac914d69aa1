package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/logfile"
	"github.com/pier-engine/pier/internal/snapshot"
	"github.com/pier-engine/pier/internal/specgen"
)

// buildLabel marks the containers a build runs, so that a pierd killed
// mid-build removes them when it starts again.
const buildLabel = "io.pier.build"

// buildPrefix names the writable layers that builds mount for COPY, ADD
// and WORKDIR.
const buildPrefix = "build-"

// BuildEngine is the daemon as internal/builder's Engine: base images
// from the store, RUN through the ordinary container create/start path,
// COPY into a writable layer mounted under the daemon's root, and step
// images committed into the store.
type BuildEngine struct {
	d *Daemon
	// mu guards mounts, the build layers mounted now (id -> directory).
	mu     sync.Mutex
	mounts map[string]string // Guarded by mu.
}

// BuildEngine returns the engine for builds. Call it once: it first
// removes what builds interrupted by a crash left behind.
func (d *Daemon) BuildEngine(ctx context.Context) *BuildEngine {
	e := &BuildEngine{d: d, mounts: map[string]string{}}
	e.recover(ctx)
	return e
}

func (e *BuildEngine) mountRoot() string { return filepath.Join(e.d.cfg.Root, "build", "mnt") }

// recover removes build containers and build layers left by a pierd that
// died mid-build; their steps never committed, so no image names them.
func (e *BuildEngine) recover(ctx context.Context) {
	if ents, err := os.ReadDir(e.mountRoot()); err == nil {
		for _, ent := range ents {
			dir := filepath.Join(e.mountRoot(), ent.Name())
			_ = snapshot.Unmount(dir)
			_ = os.Remove(dir)
		}
	}
	if ids, err := e.d.images.Snapshots().Active(); err == nil {
		for _, id := range ids {
			if strings.HasPrefix(id, buildPrefix) {
				_ = e.d.images.Snapshots().Remove(id)
			}
		}
	}
	recs, err := e.d.containerRecords()
	if err != nil {
		return
	}
	for _, r := range recs {
		if r.Config != nil && r.Config.Labels[buildLabel] != "" {
			if err := e.d.ContainerRemove(ctx, r.ID, true); err != nil {
				e.d.log.Warn("remove build container", "container_id", r.ID, "err", err)
			}
		}
	}
}

// Image finds ref in the store, pulling it when missing or when pull is
// set (never for an id).
func (e *BuildEngine) Image(ctx context.Context, ref string, pull bool, platform string) (string, *v1.ConfigFile, error) {
	img, err := e.d.images.Get(ref)
	isID := strings.HasPrefix(ref, "sha256:")
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return "", nil, err
	}
	if (err != nil || pull) && !isID {
		if platform != "" {
			ctx = image.WithPlatform(ctx, platform)
		}
		if img, err = e.d.images.Pull(ctx, ref, func(image.Progress) {}); err != nil {
			return "", nil, fmt.Errorf("pull %s: %w", ref, err)
		}
		e.d.emitImage("pull", ref, ref)
	}
	if err != nil {
		return "", nil, fmt.Errorf("No such image: %s: %w", ref, err)
	}
	cfg, err := e.d.images.Config(img)
	if err != nil {
		return "", nil, err
	}
	return img.ID, cfg, nil
}

// LocalImage finds ref in the store and never pulls it (--cache-from).
func (e *BuildEngine) LocalImage(ctx context.Context, ref string) (string, *v1.ConfigFile, error) {
	img, err := e.d.images.Get(ref)
	if err != nil {
		return "", nil, err
	}
	cfg, err := e.d.images.Config(img)
	if err != nil {
		return "", nil, err
	}
	return img.ID, cfg, nil
}

// Children lists the images whose config names parent as their parent
// (the step images built on it).
func (e *BuildEngine) Children(ctx context.Context, parent string) ([]string, []*v1.ConfigFile, error) {
	imgs, err := e.d.images.List()
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	var cfgs []*v1.ConfigFile
	for _, img := range imgs {
		cfg, err := e.d.images.Config(img)
		if err != nil || cfg.Config.Image != parent {
			continue
		}
		ids, cfgs = append(ids, img.ID), append(cfgs, cfg)
	}
	return ids, cfgs, nil
}

// Restore makes the image of a step from an image built elsewhere
// (--cache-from of a pulled or loaded image, as dockerd restores it):
// parent's layers ("" for none) plus source's layer of history entry
// index (none for an empty one), with config cfg, whose RootFS it fills
// in. No layer is unpacked again: the store has them.
func (e *BuildEngine) Restore(ctx context.Context, parent, source string, index int, cfg *v1.ConfigFile) (string, error) {
	src, err := e.d.images.LocalImage(source)
	if err != nil {
		return "", err
	}
	srcCfg, err := src.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("restore from %s: %w", source, err)
	}
	if index < 0 || index >= len(srcCfg.History) {
		return "", fmt.Errorf("restore from %s: no history entry %d: %w", source, index, errdefs.ErrInvalidArgument)
	}
	base := empty.Image
	if parent != "" {
		if base, err = e.d.images.LocalImage(parent); err != nil {
			return "", err
		}
	}
	img := base
	if !srcCfg.History[index].EmptyLayer {
		n := 0
		for _, h := range srcCfg.History[:index] {
			if !h.EmptyLayer {
				n++
			}
		}
		layers, err := src.Layers()
		if err != nil || n >= len(layers) {
			return "", fmt.Errorf("restore from %s: layer of history entry %d: %w", source, index, err)
		}
		if img, err = mutate.AppendLayers(base, layers[n]); err != nil {
			return "", fmt.Errorf("restore from %s: %w", source, err)
		}
	}
	have, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("restore from %s: %w", source, err)
	}
	cfg.RootFS = have.RootFS
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", fmt.Errorf("restore from %s: %w", source, err)
	}
	return e.d.images.PutImage(ctx, img, nil)
}

// Create makes a RUN step's container: no init process (the step's shell
// is its own PID 1, as with dockerd) and the build label.
func (e *BuildEngine) Create(ctx context.Context, cfg *container.Config, host *container.HostConfig) (string, error) {
	c := *cfg
	c.Labels = map[string]string{buildLabel: "1"}
	for k, v := range cfg.Labels {
		c.Labels[k] = v
	}
	h := *host
	if p := path.Clean("/" + h.CgroupParent); h.CgroupParent != "" && !strings.HasPrefix(p+"/", specgen.DefaultCgroupParent+"/") {
		// --cgroup-parent of a build: kept under pier's own parent, where
		// every cgroup pier makes lives.
		h.CgroupParent = path.Join(specgen.DefaultCgroupParent, p)
	}
	if h.CgroupnsMode == "" && cgroupVersion(e.d.hostFS) == "1" {
		// dockerd's default on cgroup v1, where a RUN sees its cgroup's
		// path (moby's build tests read it from /proc/self/cgroup).
		h.CgroupnsMode = container.CgroupnsModeHost
	}
	noInit := false
	h.Init = &noInit
	h.AutoRemove = false
	resp, err := e.d.ContainerCreate(ctx, "", container.CreateRequest{Config: &c, HostConfig: &h})
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

// Start runs the container to its end, copying its log to stdout and
// stderr as the monitor writes it. When ctx ends first (the client went
// away) the container is killed.
func (e *BuildEngine) Start(ctx context.Context, id string, stdout, stderr io.Writer) (int, error) {
	w := e.d.exitOf(id)
	if err := e.d.ContainerStart(ctx, id); err != nil {
		return -1, err
	}
	readCtx := context.WithoutCancel(ctx)
	read := make(chan error, 1)
	go func() {
		opts := logfile.ReadOptions{Tail: -1, Follow: true, Done: w.done}
		read <- logfile.Read(readCtx, e.d.paths(id).log, opts, func(en logfile.Entry) error {
			out := stdout
			if en.Stream == "stderr" {
				out = stderr
			}
			_, err := out.Write(en.Line)
			return err
		})
	}()
	select {
	case <-w.done:
	case <-ctx.Done():
		if err := e.d.ContainerKill(readCtx, id, "KILL"); err != nil {
			e.d.log.Warn("kill build container", "container_id", id, "err", err)
		}
		<-w.done
		<-read
		return -1, ctx.Err()
	}
	if err := <-read; err != nil && ctx.Err() == nil {
		return -1, fmt.Errorf("container %s: output: %w", id, err)
	}
	return w.code, nil
}

// Mount prepares a writable layer on image and mounts it under the
// daemon's root.
func (e *BuildEngine) Mount(ctx context.Context, imageID string) (string, string, error) {
	chain := ""
	if imageID != "" {
		img, err := e.d.images.Get(imageID)
		if err != nil {
			return "", "", err
		}
		chain = img.TopChainID()
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := buildPrefix + hex.EncodeToString(b)
	dir := filepath.Join(e.mountRoot(), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("build layer: %w", err)
	}
	snaps := e.d.images.Snapshots()
	if err := snaps.Prepare(id, chain); err != nil {
		os.Remove(dir)
		return "", "", err
	}
	if err := snaps.Mount(id, dir); err != nil {
		_ = snaps.Remove(id)
		os.Remove(dir)
		return "", "", fmt.Errorf("build layer: %w", err)
	}
	e.mu.Lock()
	e.mounts[id] = dir
	e.mu.Unlock()
	return id, dir, nil
}

// UpperDir is the upper directory of build layer id (made by Mount), for
// COPY to hard-link a synced context's files into.
func (e *BuildEngine) UpperDir(id string) (string, error) {
	e.mu.Lock()
	_, mounted := e.mounts[id]
	e.mu.Unlock()
	if !mounted {
		return "", fmt.Errorf("build layer %s: %w", id, errdefs.ErrNotFound)
	}
	return e.d.images.Snapshots().UpperDir(id)
}

// Remove deletes a build layer or a RUN container.
func (e *BuildEngine) Remove(ctx context.Context, id string) error {
	e.mu.Lock()
	dir, mounted := e.mounts[id]
	delete(e.mounts, id)
	e.mu.Unlock()
	if !mounted {
		// A RUN under a VOLUME wrote into an anonymous volume: it goes
		// with the container, as dockerd removes it.
		return e.d.ContainerDelete(ctx, id, true, true, false)
	}
	if err := snapshot.Unmount(dir); err != nil {
		return fmt.Errorf("build layer %s: %w", id, err)
	}
	_ = os.Remove(dir)
	return e.d.images.Snapshots().Remove(id)
}

// Commit stores a step's image; see CommitImage.
func (e *BuildEngine) Commit(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile) (string, error) {
	img, linked, err := e.commitLinked(ctx, parent, ctr, cfg, nil)
	if err == nil && !linked {
		img, err = e.d.commitImage(ctx, parent, ctr, cfg)
	}
	if err != nil {
		return "", err
	}
	// dockerd (since 25) announces each step image it commits.
	e.d.emitImage("create", img.ID, img.ID)
	return img.ID, nil
}

// CommitStep is Commit also writing step, the step's own config, as the
// image config's container_config, as dockerd's classic builder does.
func (e *BuildEngine) CommitStep(ctx context.Context, parent, ctr string, cfg *v1.ConfigFile, step v1.Config) (string, error) {
	b, err := json.Marshal(step)
	if err != nil {
		return "", fmt.Errorf("commit: step config: %w", err)
	}
	var cc container.Config // the same JSON keys
	if err := json.Unmarshal(b, &cc); err != nil {
		return "", fmt.Errorf("commit: step config: %w", err)
	}
	img, linked, err := e.commitLinked(ctx, parent, ctr, cfg, &cc)
	if err == nil && !linked {
		img, err = e.d.commitImageOf(ctx, parent, ctr, cfg, &cc)
	}
	if err != nil {
		return "", err
	}
	e.d.emitImage("create", img.ID, img.ID)
	return img.ID, nil
}

// Tag points ref at the image id.
func (e *BuildEngine) Tag(ctx context.Context, id, ref string) error {
	if err := e.d.images.Tag(id, ref); err != nil {
		return err
	}
	e.d.emitImage("tag", id, withTag(ref))
	return nil
}

// withTag adds ":latest" to a name without a tag or digest: dockerd's
// tag event names the image so.
func withTag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") || strings.Contains(ref, "@") {
		return ref
	}
	return ref + ":latest"
}

// Fetch downloads a URL for ADD.
func (e *BuildEngine) Fetch(ctx context.Context, url string, w io.Writer) (time.Time, error) {
	return image.Fetch(ctx, url, w)
}

// mountPoints are what the runtime creates in a rootfs to mount over;
// empty, they are not the container's changes.
var mountPoints = map[string]bool{"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true,
	"dev": true, "proc": true, "sys": true, ".dockerenv": true, "sbin/pier-init": true}

func skipMountPoint(upper string) func(string, fs.FileInfo) bool {
	return func(rel string, fi fs.FileInfo) bool {
		if !mountPoints[rel] {
			return false
		}
		if fi.IsDir() {
			ents, err := os.ReadDir(filepath.Join(upper, rel))
			return err == nil && len(ents) == 0
		}
		return fi.Mode().IsRegular() && fi.Size() == 0
	}
}
