package daemon

import (
	"errors"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/daemon/pod"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/userns"
)

func TestCheckUserns(t *testing.T) {
	one := []*runtimeapi.IDMapping{{ContainerId: 0, HostId: 1000, Length: 100000}}
	pod := func(u, g []*runtimeapi.IDMapping) *runtimeapi.NamespaceOption {
		return &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: u, Gids: g}}
	}
	withNode := func(edit func(*runtimeapi.NamespaceOption)) *runtimeapi.NamespaceOption {
		o := pod(one, one)
		edit(o)
		return o
	}
	for name, c := range map[string]struct {
		o    *runtimeapi.NamespaceOption
		want string // "" for accepted; else a piece of the message
	}{
		"none":      {nil, ""},
		"node":      {&runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}, ""},
		"container": {&runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}}, "userns_options.mode: CONTAINER"},
		"target":    {&runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_TARGET}}, "userns_options.mode: TARGET"},
		"two":       {pod(append(one, one...), one), "userns_options.uids: want exactly one"},
		"no uids":   {pod(nil, one), "userns_options.uids: want exactly one mapping, got 0"},
		"no root":   {pod(one, []*runtimeapi.IDMapping{{ContainerId: 1, HostId: 1000, Length: 10}}), "userns_options.gids: the mapping must start at container id 0"},
		"empty":     {pod([]*runtimeapi.IDMapping{{HostId: 1000}}, one), "userns_options.uids: the mapping must start at container id 0 and not be empty"},
		"host root": {pod([]*runtimeapi.IDMapping{{HostId: 0, Length: 65536}}, one), "userns_options.uids: host id 0"},
		"overflow":  {pod(one, []*runtimeapi.IDMapping{{HostId: 4294967000, Length: 65536}}), "userns_options.gids: host ids"},
		"host net": {withNode(func(o *runtimeapi.NamespaceOption) { o.Network = runtimeapi.NamespaceMode_NODE }),
			"namespace_options.network: NODE with a POD user namespace"},
		"host pid": {withNode(func(o *runtimeapi.NamespaceOption) { o.Pid = runtimeapi.NamespaceMode_NODE }), "namespace_options.pid: NODE"},
		"host ipc": {withNode(func(o *runtimeapi.NamespaceOption) { o.Ipc = runtimeapi.NamespaceMode_NODE }), "namespace_options.ipc: NODE"},
	} {
		maps, err := checkUserns(c.o)
		switch {
		case c.want == "" && (err != nil || maps != nil):
			t.Errorf("%s: %v %v, want the host's user namespace", name, maps, err)
		case c.want != "" && (err == nil || !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want InvalidArgument with %q", name, err, c.want)
		}
	}
	maps, err := checkUserns(pod(one, []*runtimeapi.IDMapping{{HostId: 200000, Length: 65536}}))
	if !userns.Supported() {
		if !errors.Is(err, errdefs.ErrNotImplemented) {
			t.Fatalf("POD on a host without user namespaces: %v, want NotImplemented", err)
		}
		return
	}
	want := podIDMaps{uid: userns.Mapping{HostID: 1000, Size: 100000}, gid: userns.Mapping{HostID: 200000, Size: 65536}}
	if err != nil || maps == nil || *maps != want {
		t.Errorf("POD: %+v %v, want %+v", maps, err, want)
	}
}

func TestMountIDMapChecks(t *testing.T) {
	podMap := []*runtimeapi.IDMapping{{HostId: 300000, Length: 65536}}
	mk := func(u *runtimeapi.UserNamespace) *pod.Sandbox {
		return &pod.Sandbox{ID: "p", Config: &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_NODE, UsernsOptions: u}}}}}
	}
	userns := mk(&runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: podMap, Gids: podMap})
	mount := func(u, g []*runtimeapi.IDMapping, prop runtimeapi.MountPropagation) *runtimeapi.ContainerConfig {
		return &runtimeapi.ContainerConfig{Mounts: []*runtimeapi.Mount{{ContainerPath: "/v", HostPath: t.TempDir(), UidMappings: u, GidMappings: g, Propagation: prop}}}
	}
	other := []*runtimeapi.IDMapping{{HostId: 400000, Length: 65536}}
	for name, c := range map[string]struct {
		s    *pod.Sandbox
		cfg  *runtimeapi.ContainerConfig
		want string
	}{
		"no mappings":       {mk(nil), mount(nil, nil, 0), ""},
		"the pod's":         {userns, mount(podMap, podMap, 0), ""},
		"pod without":       {mk(nil), mount(podMap, podMap, 0), "config.mounts.uid_mappings on /v: the pod has no user namespace"},
		"another mapping":   {userns, mount(podMap, other, 0), "config.mounts.gid_mappings on /v: must be the pod's"},
		"two mappings":      {userns, mount(append(podMap, other...), podMap, 0), "config.mounts.uid_mappings on /v: must be the pod's"},
		"host to container": {userns, mount(podMap, podMap, runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER), "config.mounts.propagation on /v: an idmapped mount must be private"},
	} {
		_, err := (&CRI{}).dockerRequest(c.s, c.cfg, "img")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want != "" && (!errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want InvalidArgument with %q", name, err, c.want)
		}
	}
}
