package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/pier-engine/pier/internal/errdefs"
)

// An image a container was made from cannot be removed, nor a volume a
// container mounts, until the container is gone.
func TestImagesAndVolumesInUseByContainers(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	if _, err := d.volumes.Create("data", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.volumes.Create("other", nil, nil); err != nil {
		t.Fatal(err)
	}
	cfg := container.Config{Image: "img"}
	resp, err := d.ContainerCreate(ctx, "user", container.CreateRequest{Config: &cfg, HostConfig: &container.HostConfig{
		NetworkMode: "none",
		Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/data"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := d.images.Get("img")
	if err != nil {
		t.Fatal(err)
	}
	if !d.imageInUse(img.ID) || !d.volumeInUse("data") || d.volumeInUse("other") {
		t.Fatalf("in use: image %v, data %v, other %v", d.imageInUse(img.ID), d.volumeInUse("data"), d.volumeInUse("other"))
	}
	if _, err := d.ImageRemove(ctx, "img", false); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing an image a container uses: %v, want a conflict", err)
	}
	if err := d.VolumeRemove(ctx, "data", false); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing a volume a container mounts: %v, want a conflict", err)
	}
	if err := d.ContainerRemove(ctx, resp.ID, false); err != nil {
		t.Fatal(err)
	}
	if d.imageInUse(img.ID) || d.volumeInUse("data") {
		t.Error("still in use after the container was removed")
	}
}
