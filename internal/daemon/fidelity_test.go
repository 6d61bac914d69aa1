package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/image"
)

// Details docker-py's integration suite checks, on the fake runtime.

func TestKillReturnsOnceSIGKILLTookEffect(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	create(t, d, "kk", container.Config{})
	if err := d.ContainerStart(ctx, "kk"); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerKill(ctx, "kk", "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	// No polling: the rm a client sends right after kill must succeed.
	if c := state(t, d, "kk"); c.State.Running {
		t.Fatalf("after kill: still running: %+v", c.State)
	}
	if err := d.ContainerRemove(ctx, "kk", false); err != nil {
		t.Errorf("rm right after kill: %v", err)
	}
}

func TestCreateDefaultsAndRefusals(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	id := createHost(t, d, "", container.Config{}, container.HostConfig{})
	c := state(t, d, id)
	if c.HostConfig.LogConfig.Type != "json-file" || c.HostConfig.LogConfig.Config == nil {
		t.Errorf("LogConfig = %+v, want json-file with an empty Config", c.HostConfig.LogConfig)
	}
	old := rtRuntimeFile
	rtRuntimeFile = "/nonexistent/cpu.rt_runtime_us" // a kernel without RT group scheduling
	defer func() { rtRuntimeFile = old }()
	for _, tc := range []struct {
		host container.HostConfig
		want string
	}{
		{container.HostConfig{LogConfig: container.LogConfig{Type: "asdf"}}, "logger: no log driver named 'asdf' is registered"},
		{container.HostConfig{LogConfig: container.LogConfig{Type: "syslog"}}, "HostConfig.LogConfig.Type"},
		{container.HostConfig{Resources: container.Resources{DeviceRequests: []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}}}, "HostConfig.DeviceRequests"},
		{container.HostConfig{StorageOpt: map[string]string{"size": "120G"}}, "HostConfig.StorageOpt"},
		{container.HostConfig{Resources: container.Resources{CPURealtimeRuntime: 500}}, "CpuRealtimeRuntime"},
	} {
		cfg := container.Config{Image: "img"}
		tc.host.NetworkMode = "none"
		_, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &cfg, HostConfig: &tc.host})
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create with %s: err = %v, want invalid naming it", tc.want, err)
		}
	}
	if _, err := d.ContainerInspect(ctx, "nope"); err == nil || err.Error() != "No such container: nope" {
		t.Errorf("inspect of a missing container: %v, want dockerd's text", err)
	}
}

func TestRemoveRunningNamesDockerdsText(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "busy", container.Config{})
	if err := d.ContainerStart(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
	err := d.ContainerRemove(ctx, "busy", false)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "You cannot remove a running container "+id) {
		t.Errorf("rm of a running container: %v", err)
	}
	if err := d.ContainerRemove(ctx, "busy", true); err != nil {
		t.Fatal(err)
	}
}

func TestAnonymousVolumesAndMounts(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	bindSrc := t.TempDir()
	id := createHost(t, d, "vols", container.Config{Volumes: map[string]struct{}{"/anon": {}, "/bound": {}}},
		container.HostConfig{Binds: []string{bindSrc + ":/bound:ro", "named:/named"}})
	c := state(t, d, id)
	byDst := map[string]container.MountPoint{}
	for _, m := range c.Mounts {
		byDst[m.Destination] = m
	}
	if len(c.Mounts) != 3 {
		t.Fatalf("Mounts = %+v, want the bind, the named and one anonymous volume", c.Mounts)
	}
	if b := byDst["/bound"]; b.Type != "bind" || b.Source != bindSrc || b.RW {
		t.Errorf("bind = %+v", b)
	}
	if n := byDst["/named"]; n.Type != "volume" || n.Name != "named" || n.Source == "" || !n.RW {
		t.Errorf("named volume = %+v", n)
	}
	anon := byDst["/anon"]
	if anon.Type != "volume" || len(anon.Name) != 64 || anon.Source == "" {
		t.Fatalf("anonymous volume = %+v", anon)
	}
	if c.HostConfig.Runtime == "" {
		t.Errorf("HostConfig.Runtime is empty; dockerd shows its default runtime")
	}
	if _, err := d.VolumeInspect(ctx, anon.Name); err != nil {
		t.Fatalf("anonymous volume not made: %v", err)
	}
	if err := d.ContainerDelete(ctx, id, false, true, false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.VolumeInspect(ctx, anon.Name); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("rm -v left the anonymous volume: %v", err)
	}
	if _, err := d.VolumeInspect(ctx, "named"); err != nil {
		t.Errorf("rm -v removed a named volume: %v", err)
	}
}

func TestLegacyLinks(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	create(t, d, "upstream", container.Config{Env: []string{"FOO=1"}})
	id := createHost(t, d, "down", container.Config{}, container.HostConfig{Links: []string{"upstream:up"}})
	spec := readSpec(t, d, id)
	env := strings.Join(spec.Process.Env, "\n")
	if !strings.Contains(env, "UP_NAME=/down/up") || !strings.Contains(env, "UP_ENV_FOO=1") {
		t.Errorf("link env missing: %s", env)
	}
	if err := d.ContainerDelete(ctx, "down/up", false, false, true); err != nil {
		t.Fatalf("remove link: %v", err)
	}
	if c := state(t, d, id); len(c.HostConfig.Links) != 0 {
		t.Errorf("link kept: %v", c.HostConfig.Links)
	}
	if err := d.ContainerDelete(ctx, "down/up", false, false, true); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove of a missing link: %v", err)
	}
	if _, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
		HostConfig: &container.HostConfig{NetworkMode: "none", Links: []string{"ghost:g"}}}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("link to a missing container: %v", err)
	}
}

func readSpec(t *testing.T, d *Daemon, id string) specs.Spec {
	t.Helper()
	b, err := os.ReadFile(d.paths(id).config)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInfoCountsContainersAndImages(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	create(t, d, "one", container.Config{})
	create(t, d, "two", container.Config{})
	if err := d.ContainerStart(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	info, err := d.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := d.ImageList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Containers != 2 || info.ContainersRunning != 1 || info.ContainersStopped != 1 || info.Images != len(imgs) || len(imgs) == 0 {
		t.Errorf("info counts: containers %d running %d stopped %d images %d (list has %d)",
			info.Containers, info.ContainersRunning, info.ContainersStopped, info.Images, len(imgs))
	}
}

func TestRestartingContainerShownAndKept(t *testing.T) {
	d, f := fakeDaemon(t)
	ctx := context.Background()
	id := createHost(t, d, "again", container.Config{}, container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways}})
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	f.exit(id, 0)
	eventually(t, "shown restarting", func() bool {
		c := state(t, d, id)
		return c.State.Status == container.StateRestarting && c.State.Restarting
	})
	err := d.ContainerRemove(ctx, id, false)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "You cannot remove a") {
		t.Errorf("rm of a restarting container: %v", err)
	}
	if err := d.ContainerRemove(ctx, id, true); err != nil {
		t.Fatalf("rm -f: %v", err)
	}
	if _, err := d.ContainerInspect(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after rm -f: %v", err)
	}
}

func TestStartCreatesTheWorkingDir(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	id := create(t, d, "wd", container.Config{WorkingDir: "/new/dir"})
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d.paths(id).rootfs + "/new/dir"); err != nil || !fi.IsDir() {
		t.Errorf("working dir not made: %v", err)
	}
}

func TestImagePruneUntilAndLabel(t *testing.T) {
	d := newImageDaemon(t, "")
	ctx := context.Background()
	labelled, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "a")), "", []string{"LABEL keep=yes"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := d.ImageImport(ctx, bytes.NewReader(rootfsTar(t, "b")), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// until an hour ago: both are newer, so nothing goes.
	if rep, err := d.ImagePrune(ctx, false, map[string][]string{"until": {"1h"}}); err != nil || len(rep.ImagesDeleted) != 0 {
		t.Errorf("prune until=1h = %+v %v", rep, err)
	}
	rep, err := d.ImagePrune(ctx, false, map[string][]string{"label!": {"keep=yes"}})
	if err != nil || len(rep.ImagesDeleted) != 1 || rep.ImagesDeleted[0].Deleted != plain {
		t.Errorf("prune label!=keep=yes = %+v %v, want only %s", rep, err, plain)
	}
	if _, err := d.ImageInspect(ctx, labelled); err != nil {
		t.Errorf("the labelled image went: %v", err)
	}
	if _, err := d.ImagePrune(ctx, false, map[string][]string{"bogus": {"1"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("unknown prune filter: %v", err)
	}
}

func TestVolumesFrom(t *testing.T) {
	d, _ := fakeDaemon(t)
	ctx := context.Background()
	src := t.TempDir()
	createHost(t, d, "donor", container.Config{Volumes: map[string]struct{}{"/anon": {}}},
		container.HostConfig{Binds: []string{src + ":/bound", "named:/named"}})
	id := createHost(t, d, "taker", container.Config{}, container.HostConfig{VolumesFrom: []string{"donor:ro"}})
	spec := readSpec(t, d, id)
	got := map[string]specs.Mount{}
	for _, m := range spec.Mounts {
		got[m.Destination] = m
	}
	for _, dst := range []string{"/bound", "/named", "/anon"} {
		m, ok := got[dst]
		if !ok {
			t.Errorf("volumes-from: %s not mounted; mounts %+v", dst, spec.Mounts)
			continue
		}
		if !slices.Contains(m.Options, "ro") {
			t.Errorf("volumes-from :ro: %s = %+v", dst, m)
		}
	}
	if got["/bound"].Source != src {
		t.Errorf("/bound from %s, want %s", got["/bound"].Source, src)
	}
	if _, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
		HostConfig: &container.HostConfig{NetworkMode: "none", VolumesFrom: []string{"donor:xx"}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad volumes-from mode: %v", err)
	}
}

func TestCreatePlatform(t *testing.T) {
	d, _ := fakeDaemon(t)
	create1 := func(platform string) error {
		ctx := image.WithPlatform(context.Background(), platform)
		_, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
			HostConfig: &container.HostConfig{NetworkMode: "none"}})
		return err
	}
	ins, err := d.ImageInspect(context.Background(), "img")
	if err != nil {
		t.Fatal(err)
	}
	if err := create1(ins.Os + "/" + ins.Architecture); err != nil {
		t.Errorf("create for the image's own platform: %v", err)
	}
	if err := create1("linux/s390x"); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "does not match the specified platform") {
		t.Errorf("create for another platform: %v", err)
	}
}

func TestContainerSize(t *testing.T) {
	d, _ := fakeDaemon(t)
	id := create(t, d, "sized", container.Config{})
	dir, err := d.images.Snapshots().UpperDir(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/blob", make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	rw, rootfs, err := d.ContainerSize(context.Background(), "sized")
	if err != nil || rw < 5000 || rootfs < rw {
		t.Errorf("size = %d %d %v, want rw >= 5000 and rootfs >= rw", rw, rootfs, err)
	}
	if _, _, err := d.ContainerSize(context.Background(), "nothere"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("size of a missing container: %v", err)
	}
}
