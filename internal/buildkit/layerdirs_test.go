package buildkit

import (
	"context"
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/moby/buildkit/util/compression"
)

// TestMountDirs: the layer directories of the overlay snapshotter's
// mounts, bottom first; anything else is not understood.
func TestMountDirs(t *testing.T) {
	for _, c := range []struct {
		name   string
		mounts []mount.Mount
		want   []string
	}{
		{"base layer", []mount.Mount{{Type: "bind", Source: "/bk/snapshots/1/fs", Options: []string{"ro", "rbind"}}}, []string{"/bk/snapshots/1/fs"}},
		{"view of a chain", []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"ro", "index=off", "lowerdir=/s/3/fs:/s/2/fs:/s/1/fs"}}},
			[]string{"/s/1/fs", "/s/2/fs", "/s/3/fs"}},
		{"active", []mount.Mount{{Type: "overlay", Options: []string{"workdir=/s/4/work", "upperdir=/s/4/fs", "lowerdir=/s/2/fs:/s/1/fs"}}},
			[]string{"/s/1/fs", "/s/2/fs", "/s/4/fs"}},
		{"no lower", []mount.Mount{{Type: "overlay", Options: []string{"upperdir=/s/4/fs"}}}, nil},
		{"two mounts", []mount.Mount{{Type: "bind", Source: "/a"}, {Type: "bind", Source: "/b"}}, nil},
		{"other type", []mount.Mount{{Type: "fuse3.fuse-overlayfs", Options: []string{"lowerdir=/a"}}}, nil},
	} {
		got, ok := mountDirs(c.mounts)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, ok, c.want)
		}
	}
}

// TestResolveCompression: the moby exporter compresses with gzip at
// level 1 unless the client chose a compression or a level (BuildKit's
// attribute parsing would otherwise reset it to gzip's default level).
func TestResolveCompression(t *testing.T) {
	for _, c := range []struct {
		attrs map[string]string
		typ   compression.Type
		level int // -1: BuildKit's default
	}{
		{map[string]string{"name": "app"}, compression.Gzip, 1},
		{map[string]string{"compression": "zstd"}, compression.Zstd, -1},
		{map[string]string{"compression-level": "9"}, compression.Gzip, 9},
	} {
		inst, err := (&mobyExporter{}).Resolve(context.Background(), 0, c.attrs)
		if err != nil {
			t.Fatal(err)
		}
		got := inst.(*mobyInstance).opts.RefCfg.Compression
		level := -1
		if got.Level != nil {
			level = *got.Level
		}
		if got.Type != c.typ || level != c.level {
			t.Errorf("%v: %v level %d, want %v level %d", c.attrs, got.Type, level, c.typ, c.level)
		}
	}
}
