package daemon

import (
	"errors"
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/rootfs"
)

func TestRecursiveReadOnly(t *testing.T) {
	ok := &runtimeapi.Mount{ContainerPath: "/mnt", HostPath: "/h", Readonly: true, RecursiveReadOnly: true}
	if err := checkRecursiveReadOnly(ok); err != nil && rootfs.HasMountSetattr() {
		t.Errorf("read-only private rro: %v", err)
	}
	for name, m := range map[string]*runtimeapi.Mount{
		"rw":     {ContainerPath: "/mnt", RecursiveReadOnly: true},
		"rslave": {ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		"rshared": {ContainerPath: "/mnt", Readonly: true, RecursiveReadOnly: true,
			Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
	} {
		if err := checkRecursiveReadOnly(m); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc"},
		{Destination: "/mnt", Type: "bind", Source: "/h", Options: []string{"rbind", "ro"}},
		{Destination: "/other", Type: "bind", Source: "/o", Options: []string{"rbind", "ro"}},
	}}
	recursiveReadOnly(spec, []*runtimeapi.Mount{ok, {ContainerPath: "/other", Readonly: true}})
	if !slices.Contains(spec.Mounts[1].Options, "rro") {
		t.Errorf("/mnt options %v, want rro", spec.Mounts[1].Options)
	}
	if slices.Contains(spec.Mounts[2].Options, "rro") || slices.Contains(spec.Mounts[0].Options, "rro") {
		t.Errorf("rro on a mount that did not ask for it: %v", spec.Mounts)
	}
}

func TestSupplementalGroupsPolicy(t *testing.T) {
	mk := func() *specs.Spec {
		// specgen's Merge: the image's /etc/group gave 50000, the CRI 1234
		return &specs.Spec{Process: &specs.Process{User: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{50000, 1234}}}}
	}
	merge := mk()
	u := supplementalGroups(merge, &runtimeapi.LinuxContainerSecurityContext{SupplementalGroups: []int64{1234}})
	if got := u.GetLinux().GetSupplementalGroups(); !slices.Equal(got, []int64{1000, 50000, 1234}) || u.GetLinux().GetUid() != 1000 {
		t.Errorf("Merge: %v", u)
	}
	if !slices.Equal(merge.Process.User.AdditionalGids, []uint32{50000, 1234}) {
		t.Errorf("Merge changed the spec: %v", merge.Process.User.AdditionalGids)
	}
	strict := mk()
	u = supplementalGroups(strict, &runtimeapi.LinuxContainerSecurityContext{SupplementalGroups: []int64{1234},
		SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict})
	if got := u.GetLinux().GetSupplementalGroups(); !slices.Equal(got, []int64{1000, 1234}) {
		t.Errorf("Strict: %v", u)
	}
	if !slices.Equal(strict.Process.User.AdditionalGids, []uint32{1234}) {
		t.Errorf("Strict spec: %v, want only the CRI's 1234", strict.Process.User.AdditionalGids)
	}
}

// Image volumes are checked before anything is mounted: read-only, a sub
// path inside the image, an image that is there.
func TestImageVolumeBadInput(t *testing.T) {
	d, _ := fakeDaemon(t)
	c, err := d.NewCRI(CRIConfig{CNIConfDir: t.TempDir(), CNIBinDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	img := &runtimeapi.ImageSpec{Image: "no-such-image:1"}
	for name, m := range map[string]*runtimeapi.Mount{
		"rw":        {ContainerPath: "/iv", Image: img},
		"abs sub":   {ContainerPath: "/iv", Image: img, Readonly: true, ImageSubPath: "/etc"},
		"up sub":    {ContainerPath: "/iv", Image: img, Readonly: true, ImageSubPath: "../x"},
		"not there": {ContainerPath: "/iv", Image: img, Readonly: true},
	} {
		cfg := &runtimeapi.ContainerConfig{Mounts: []*runtimeapi.Mount{m}}
		_, vols, err := c.imageVolumes(cfg)
		if err == nil || len(vols) != 0 {
			t.Errorf("%s: %v, %v; want an error and nothing mounted", name, vols, err)
		}
		if name != "not there" && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	if ents, _ := os.ReadDir(d.criDir("imagevols")); len(ents) != 0 {
		t.Errorf("image volume directories left: %v", ents)
	}
	plain := &runtimeapi.ContainerConfig{Mounts: []*runtimeapi.Mount{{ContainerPath: "/m", HostPath: "/h"}}}
	if out, vols, err := c.imageVolumes(plain); out != plain || vols != nil || err != nil {
		t.Errorf("no image volume: %v %v %v, want the config as it was", out, vols, err)
	}
}

// An image mounted as a CRI image volume is in use: rmi must not take its
// layers from under the overlay.
func TestImageVolumeKeepsImageInUse(t *testing.T) {
	d, _ := fakeDaemon(t)
	if d.imageInUse("sha256:aaa") {
		t.Fatal("an unused image is in use")
	}
	rec := &pod.Container{ID: "c1", ImageVolumes: []pod.ImageVolume{{Dir: "/x", ContainerPath: "/iv", Image: "img", ImageRef: "sha256:aaa"}}}
	if err := d.md.Create(pod.ContainerKind, "c1", rec); err != nil {
		t.Fatal(err)
	}
	if !d.imageInUse("sha256:aaa") || d.imageInUse("sha256:bbb") {
		t.Errorf("in use: aaa %v (want true), bbb %v (want false)", d.imageInUse("sha256:aaa"), d.imageInUse("sha256:bbb"))
	}
}
