package daemon

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

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
