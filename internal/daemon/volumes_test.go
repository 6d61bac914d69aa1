package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	apivolume "github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestVolumeLifecycle(t *testing.T) {
	ctx := context.Background()
	d := newTestDaemon(t, "")
	v, err := d.VolumeCreate(ctx, apivolume.CreateRequest{Name: "v1", Driver: "local", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(d.cfg.Root, "volumes", "v1", "_data")
	if v.Name != "v1" || v.Driver != "local" || v.Scope != "local" || v.Mountpoint != want || v.Labels["a"] != "b" || v.CreatedAt == "" {
		t.Errorf("created %+v", v)
	}
	if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
		t.Errorf("mountpoint %s: %v", want, err)
	}
	got, err := d.VolumeInspect(ctx, "v1")
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Errorf("inspect = %+v, %v; want %+v", got, err, v)
	}
	anon, err := d.VolumeCreate(ctx, apivolume.CreateRequest{})
	if err != nil || len(anon.Name) != 64 {
		t.Errorf("anonymous volume = %+v, %v", anon, err)
	}

	list, err := d.VolumeList(ctx, map[string][]string{"label": {"a=b"}, "dangling": {"true"}})
	if err != nil || len(list.Volumes) != 1 || list.Volumes[0].Name != "v1" {
		t.Errorf("list label=a=b dangling = %+v, %v", list, err)
	}
	// Nothing uses a volume yet, so none is in use.
	if list, err := d.VolumeList(ctx, map[string][]string{"dangling": {"false"}}); err != nil || len(list.Volumes) != 0 {
		t.Errorf("list dangling=false = %+v, %v", list, err)
	}

	if err := d.VolumeRemove(ctx, "v1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.VolumeInspect(ctx, "v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("inspect after remove: %v, want not found", err)
	}
	if err := d.VolumeRemove(ctx, "v1", false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove again: %v, want not found", err)
	}
	if err := d.VolumeRemove(ctx, "v1", true); err != nil {
		t.Errorf("remove -f of a missing volume: %v", err)
	}
}

func TestVolumeCreateRefuses(t *testing.T) {
	ctx := context.Background()
	d := newTestDaemon(t, "")
	for _, tc := range []struct {
		req  apivolume.CreateRequest
		kind error
	}{
		{apivolume.CreateRequest{Name: "a/b"}, errdefs.ErrInvalidArgument},
		{apivolume.CreateRequest{Name: "v", Driver: "nfs"}, errdefs.ErrNotFound},
		{apivolume.CreateRequest{Name: "v", DriverOpts: map[string]string{"type": "tmpfs"}}, errdefs.ErrInvalidArgument},
		{apivolume.CreateRequest{Name: "v", ClusterVolumeSpec: &apivolume.ClusterVolumeSpec{}}, errdefs.ErrNotImplemented},
	} {
		if _, err := d.VolumeCreate(ctx, tc.req); !errors.Is(err, tc.kind) {
			t.Errorf("create %+v: %v, want %v", tc.req, err, tc.kind)
		}
	}
	if list, err := d.VolumeList(ctx, nil); err != nil || len(list.Volumes) != 0 {
		t.Errorf("refused creates left %+v, %v", list, err)
	}
}

func TestVolumeListBadFilter(t *testing.T) {
	d := newTestDaemon(t, "")
	for _, f := range []map[string][]string{{"color": {"red"}}, {"dangling": {"maybe"}}} {
		if _, err := d.VolumeList(context.Background(), f); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("list %v: %v, want invalid argument", f, err)
		}
	}
	if _, err := d.VolumePrune(context.Background(), map[string][]string{"dangling": {"true"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("prune dangling: %v, want invalid argument", err)
	}
}

func TestVolumePrune(t *testing.T) {
	ctx := context.Background()
	d := newTestDaemon(t, "")
	named, _ := d.VolumeCreate(ctx, apivolume.CreateRequest{Name: "named"})
	anon, err := d.VolumeCreate(ctx, apivolume.CreateRequest{Labels: map[string]string{"com.docker.volume.anonymous": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(anon.Mountpoint, "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := d.VolumePrune(ctx, nil)
	if err != nil || !reflect.DeepEqual(r.VolumesDeleted, []string{anon.Name}) || r.SpaceReclaimed != 1000 {
		t.Errorf("prune = %+v, %v; want only %s, 1000 bytes", r, err, anon.Name)
	}
	r, err = d.VolumePrune(ctx, map[string][]string{"all": {"true"}})
	if err != nil || !reflect.DeepEqual(r.VolumesDeleted, []string{named.Name}) {
		t.Errorf("prune all = %+v, %v", r, err)
	}
}

// Volumes live under the root, so a new daemon on it has them.
func TestVolumeSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	d := newTestDaemon(t, "")
	if _, err := d.VolumeCreate(ctx, apivolume.CreateRequest{Name: "kept", Labels: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	d2, err := New(d.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d2.VolumeInspect(ctx, "kept"); err != nil || v.Labels["k"] != "v" {
		t.Errorf("after restart: %+v, %v", v, err)
	}
}
