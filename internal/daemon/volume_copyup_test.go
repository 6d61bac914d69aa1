package daemon

import (
	"maps"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// Anonymous volumes and named ones get the image's content; nocopy,
// subpaths and host binds do not.
func TestCopyUpTargets(t *testing.T) {
	r := containerRecord{
		AnonVolumes: map[string]string{"/anon": "a1"},
		HostConfig: &container.HostConfig{
			Binds: []string{"named:/n1", "named2:/n2:ro,nocopy", "/host:/h", "named3:/n3/:rw"},
			Mounts: []mount.Mount{
				{Type: mount.TypeVolume, Source: "m1", Target: "/m1"},
				{Type: mount.TypeVolume, Source: "m2", Target: "/m2", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
				{Type: mount.TypeVolume, Source: "m3", Target: "/m3", VolumeOptions: &mount.VolumeOptions{Subpath: "x"}},
				{Type: mount.TypeBind, Source: "/b", Target: "/b"},
			},
		},
	}
	want := map[string]string{"/anon": "a1", "/n1": "named", "/n3": "named3", "/m1": "m1"}
	if got := copyUpTargets(r); !maps.Equal(got, want) {
		t.Errorf("copyUpTargets = %v, want %v", got, want)
	}
}
