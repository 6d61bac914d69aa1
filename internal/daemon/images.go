package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// busyboxRef is the image pierd makes offline from Debian's
// busybox-static, so that `pier run busybox` works with no registry.
const busyboxRef = "busybox:latest"

// busyboxBinary is the static busybox the default image is made from.
var busyboxBinary = image.BusyboxPath

// ensureBusybox makes busybox:latest from /bin/busybox when the store has
// no such image and the binary exists; the same binary always gives the
// same image id. New calls it once at start-up, so that a later
// `rmi busybox` stays done.
func (d *Daemon) ensureBusybox(ctx context.Context) error {
	_, err := d.images.Get(busyboxRef)
	if !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if _, err := os.Stat(d.busybox); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return d.buildBusybox(ctx)
}

// imageInUse tells whether any container, running or not, was made from
// the image id: its layers are under that container's rootfs. When the
// records cannot be read the answer is yes, so nothing is removed blind.
func (d *Daemon) imageInUse(id string) bool {
	recs, err := d.containerRecords()
	if err != nil {
		return true
	}
	for _, r := range recs {
		if r.Image == id {
			return true
		}
	}
	return d.imageVolumeUses(id)
}

// ImageList lists every image (GET /images/json); the server filters.
func (d *Daemon) ImageList(ctx context.Context) ([]imagetypes.Summary, error) {
	imgs, err := d.images.List()
	if err != nil {
		return nil, err
	}
	out := make([]imagetypes.Summary, 0, len(imgs))
	for _, img := range imgs {
		cfg, err := d.images.Config(img)
		if err != nil {
			return nil, err
		}
		out = append(out, summary(img, cfg))
	}
	return out, nil
}

func summary(img *image.Image, cfg *v1.ConfigFile) imagetypes.Summary {
	return imagetypes.Summary{
		ID:          img.ID,
		ParentID:    cfg.Config.Image, // a build step's parent (classic builder)
		RepoTags:    nonNil(img.RepoTags),
		RepoDigests: nonNil(img.RepoDigests),
		Created:     img.Created.Unix(),
		Size:        img.Size,
		Labels:      cfg.Config.Labels,
		// dockerd's -1: not computed.
		Containers: -1,
		SharedSize: -1,
	}
}

// nonNil keeps "[]" rather than null on the wire: clients print <none>
// for an empty list.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ImageInspect describes one image (GET /images/{name}/json).
func (d *Daemon) ImageInspect(ctx context.Context, ref string) (imagetypes.InspectResponse, error) {
	img, err := d.images.Get(ref)
	if err != nil {
		return imagetypes.InspectResponse{}, err
	}
	cfg, err := d.images.Config(img)
	if err != nil {
		return imagetypes.InspectResponse{}, err
	}
	return inspect(img, cfg)
}

func inspect(img *image.Image, cfg *v1.ConfigFile) (imagetypes.InspectResponse, error) {
	// The image config's "config" object has Docker's keys on both sides.
	b, err := json.Marshal(cfg.Config)
	if err != nil {
		return imagetypes.InspectResponse{}, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	var c dockerspec.DockerOCIImageConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return imagetypes.InspectResponse{}, fmt.Errorf("image %s: config: %w", img.ID, err)
	}
	layers := make([]string, 0, len(cfg.RootFS.DiffIDs))
	for _, l := range cfg.RootFS.DiffIDs {
		layers = append(layers, l.String())
	}
	osName := cfg.OS
	if osName == "" {
		osName = "linux"
	}
	var comment string
	if n := len(cfg.History); n > 0 {
		comment = cfg.History[n-1].Comment
	}
	return imagetypes.InspectResponse{
		ID:           img.ID,
		RepoTags:     nonNil(img.RepoTags),
		RepoDigests:  nonNil(img.RepoDigests),
		Comment:      comment,
		Created:      img.Created.UTC().Format(time.RFC3339Nano),
		Author:       cfg.Author,
		Config:       &c,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           osName,
		Size:         img.Size,
		GraphDriver:  &storage.DriverData{Name: "overlay", Data: map[string]string{}},
		RootFS:       imagetypes.RootFS{Type: "layers", Layers: layers},
	}, nil
}

// ImageHistory lists an image's history, newest first, as docker history
// does: the top entry carries the image id and tags, older ones
// "<missing>", and each entry that made a layer that layer's size.
func (d *Daemon) ImageHistory(ctx context.Context, ref string) ([]imagetypes.HistoryResponseItem, error) {
	img, err := d.images.Get(ref)
	if err != nil {
		return nil, err
	}
	cfg, err := d.images.Config(img)
	if err != nil {
		return nil, err
	}
	return history(img, cfg), nil
}

func history(img *image.Image, cfg *v1.ConfigFile) []imagetypes.HistoryResponseItem {
	hist := cfg.History
	if len(hist) == 0 {
		// An image without history still has its layers to show.
		for range img.Layers {
			hist = append(hist, v1.History{Created: cfg.Created})
		}
	}
	out := make([]imagetypes.HistoryResponseItem, 0, len(hist))
	layer := 0
	for _, h := range hist {
		item := imagetypes.HistoryResponseItem{
			ID: "<missing>", Created: h.Created.Unix(), CreatedBy: h.CreatedBy, Comment: h.Comment, Tags: []string{},
		}
		if !h.EmptyLayer && layer < len(img.Layers) {
			item.Size = img.Layers[layer].Size
			layer++
		}
		out = append(out, item)
	}
	slices.Reverse(out)
	if len(out) > 0 {
		out[0].ID, out[0].Tags = img.ID, nonNil(img.RepoTags)
	}
	return out
}

// ImageTag makes source also known as ref (POST /images/{name}/tag).
func (d *Daemon) ImageTag(ctx context.Context, source, ref string) error {
	return d.images.Tag(source, ref)
}

// ImageRemove untags ref, and removes the image once nothing names it
// (DELETE /images/{name}).
func (d *Daemon) ImageRemove(ctx context.Context, ref string, force bool) ([]imagetypes.DeleteResponse, error) {
	parent := d.parentOf(ref)
	del, err := d.images.Remove(ref, force, d.imageInUse)
	if err == nil && slices.ContainsFunc(del, func(x image.Deleted) bool { return x.Deleted != "" }) {
		del = append(del, d.removeStepParents(parent)...)
	}
	d.emitImageDeleted(del)
	return deleteResponses(del), err
}

func deleteResponses(del []image.Deleted) []imagetypes.DeleteResponse {
	out := make([]imagetypes.DeleteResponse, 0, len(del))
	for _, x := range del {
		out = append(out, imagetypes.DeleteResponse{Untagged: x.Untagged, Deleted: x.Deleted})
	}
	return out
}

// ImagePrune removes dangling images that no container uses, or with all
// every image no container uses (POST /images/prune, docker image prune -a).
func (d *Daemon) ImagePrune(ctx context.Context, all bool, filters map[string][]string) (imagetypes.PruneReport, error) {
	imgs, err := d.images.List()
	if err != nil {
		return imagetypes.PruneReport{}, err
	}
	keep, err := d.imagePruneKeep(ctx, filters)
	if err != nil {
		return imagetypes.PruneReport{}, err
	}
	inUse := func(id string) bool { return d.imageInUse(id) || keep(id) }
	sizes := map[string]int64{}
	for _, img := range imgs {
		sizes[img.ID] = img.Size
	}
	del, err := d.pruneImages(imgs, all, inUse)
	return pruneReport(del, sizes), err
}

// imagePruneKeep is what prune's until and label filters keep: images
// created after until, or without (label) or with (label!) the labels,
// as the containers' prune reads them.
func (d *Daemon) imagePruneKeep(ctx context.Context, filters map[string][]string) (func(id string) bool, error) {
	sel, err := pruneSelector(filters, time.Now())
	if err != nil {
		return nil, err
	}
	if len(filters) == 0 {
		return func(string) bool { return false }, nil
	}
	sums, err := d.ImageList(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, s := range sums {
		r := containerRecord{Created: time.Unix(s.Created, 0), Config: &container.Config{Labels: s.Labels}}
		keep[s.ID] = !sel(r)
	}
	return func(id string) bool { return keep[id] }, nil
}

func pruneReport(del []image.Deleted, sizes map[string]int64) imagetypes.PruneReport {
	r := imagetypes.PruneReport{ImagesDeleted: deleteResponses(del)}
	for _, x := range del {
		if x.Deleted != "" && sizes[x.Deleted] > 0 {
			r.SpaceReclaimed += uint64(sizes[x.Deleted])
		}
	}
	return r
}

// ImagePull pulls ref from its registry, reporting progress as the store
// makes it (POST /images/create?fromImage=).
func (d *Daemon) ImagePull(ctx context.Context, ref string, progress image.ProgressFunc) error {
	_, err := d.images.Pull(ctx, ref, progress)
	if err == nil {
		d.emitImage("pull", ref, ref)
	}
	return err
}

// ImagePush pushes ref to its registry and returns the manifest digest
// the registry now serves (POST /images/{name}/push).
func (d *Daemon) ImagePush(ctx context.Context, ref string, progress image.ProgressFunc) (string, error) {
	digest, err := d.images.Push(ctx, ref, progress)
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}

// ImageSave writes the images refs name to w as one docker save / OCI
// layout tar (GET /images/get). Every ref is resolved before the first
// byte is written, so an unknown one is an error the client can see.
func (d *Daemon) ImageSave(ctx context.Context, w io.Writer, refs []string) error {
	if len(refs) == 0 {
		return fmt.Errorf("save: no image named: %w", errdefs.ErrInvalidArgument)
	}
	for _, ref := range refs {
		if _, err := d.images.Get(ref); err != nil {
			return err
		}
	}
	return d.images.Save(w, refs)
}

// ImageLoad stores the images of a docker save or OCI layout tar and
// returns them with their tags (POST /images/load).
func (d *Daemon) ImageLoad(ctx context.Context, r io.Reader) ([]imagetypes.Summary, error) {
	imgs, err := d.images.Load(ctx, r)
	if err != nil {
		return nil, err
	}
	out := make([]imagetypes.Summary, 0, len(imgs))
	for _, img := range imgs {
		cfg, err := d.images.Config(img)
		if err != nil {
			return nil, err
		}
		out = append(out, summary(img, cfg))
	}
	return out, nil
}

// ImageImport makes a one-layer image of the rootfs tar r, applying the
// Dockerfile instructions in changes, tagged ref unless it is "", and
// returns its id (POST /images/create?fromSrc=-).
func (d *Daemon) ImageImport(ctx context.Context, r io.Reader, ref string, changes []string) (string, error) {
	img, err := d.images.Import(ctx, r, ref, changes)
	if err != nil {
		return "", err
	}
	d.emitImageOf("import", img)
	return img.ID, nil
}
