package daemon

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// newContainerDaemon has an imported image "img" whose CMD is /hello.
func newContainerDaemon(t *testing.T) *Daemon {
	t.Helper()
	d := newImageDaemon(t, "")
	if _, err := d.ImageImport(context.Background(), bytes.NewReader(rootfsTar(t, "hi")), "img",
		[]string{`CMD ["/hello", "world"]`, "LABEL tier=web"}); err != nil {
		t.Fatal(err)
	}
	return d
}

func create(t *testing.T, d *Daemon, name string, cfg container.Config) string {
	t.Helper()
	cfg.Image = "img"
	resp, err := d.ContainerCreate(context.Background(), name, container.CreateRequest{
		Config: &cfg, HostConfig: &container.HostConfig{NetworkMode: "none"}})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return resp.ID
}

func TestContainerCreateInspectRemove(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	id := create(t, d, "web", container.Config{Labels: map[string]string{"a": "b"}})
	if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("id %q is not 64 hex digits", id)
	}
	for _, ref := range []string{id, id[:5], "web", "/web"} {
		c, err := d.ContainerInspect(ctx, ref)
		if err != nil {
			t.Fatalf("inspect %s: %v", ref, err)
		}
		if c.ID != id || c.Name != "/web" || c.State.Status != container.StateCreated || c.State.Running ||
			c.Path != "/hello" || strings.Join(c.Args, " ") != "world" || c.Config.Labels["a"] != "b" ||
			c.LogPath == "" || c.State.FinishedAt != "0001-01-01T00:00:00Z" {
			t.Errorf("inspect %s = %+v %+v", ref, c, c.State)
		}
	}
	p := d.paths(id)
	for _, f := range []string{p.config, p.hostname, p.hosts, p.resolvConf, p.log} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("container file: %v", err)
		}
	}
	if err := d.ContainerRemove(ctx, "web", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("%s after remove: %v", p.dir, err)
	}
	if _, err := d.ContainerInspect(ctx, id); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "No such container") {
		t.Errorf("inspect after remove: %v", err)
	}
	if active, _ := d.images.Snapshots().Active(); len(active) != 0 {
		t.Errorf("writable layers left: %v", active)
	}
}

func TestContainerCreateRefuses(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	create(t, d, "taken", container.Config{})
	cases := []struct {
		name string
		cfg  container.Config
		kind error
		text string
	}{
		{"", container.Config{Image: "nothere"}, errdefs.ErrNotFound, "No such image: nothere"},
		{"taken", container.Config{Image: "img"}, errdefs.ErrConflict, `"/taken" is already in use`},
		{"/taken", container.Config{Image: "img"}, errdefs.ErrConflict, "already in use"},
		{"x", container.Config{Image: "img"}, errdefs.ErrInvalidArgument, "Invalid container name"},
		{"a b", container.Config{Image: "img"}, errdefs.ErrInvalidArgument, "Invalid container name"},
		{"", container.Config{}, errdefs.ErrInvalidArgument, ""},
		{"", container.Config{Image: "img", User: "nobody-here"}, errdefs.ErrInvalidArgument, ""},
	}
	for _, tc := range cases {
		cfg := tc.cfg
		_, err := d.ContainerCreate(ctx, tc.name, container.CreateRequest{Config: &cfg, HostConfig: &container.HostConfig{}})
		if !errors.Is(err, tc.kind) || !strings.Contains(fmtErr(err), tc.text) {
			t.Errorf("create %q %+v = %v, want %v containing %q", tc.name, tc.cfg, err, tc.kind, tc.text)
		}
	}
	// The network is checked alongside the layer and the spec: its error
	// still comes out, with nothing left.
	_, err := d.ContainerCreate(ctx, "", container.CreateRequest{Config: &container.Config{Image: "img"},
		HostConfig: &container.HostConfig{NetworkMode: "nosuchnet"}})
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(fmtErr(err), "nosuchnet") {
		t.Errorf("create on a missing network = %v, want not found naming it", err)
	}
	list, err := d.ContainerList(ctx, true, nil)
	if err != nil || len(list) != 1 {
		t.Errorf("after refused creates: %d containers, %v", len(list), err)
	}
	if active, _ := d.images.Snapshots().Active(); len(active) != 1 {
		t.Errorf("writable layers: %v, want only the one of taken", active)
	}
	// A create refused after its endpoint was recorded (the unknown user,
	// on the default bridge) takes the endpoint back.
	if eps, err := d.md.List("endpoints"); err != nil || len(eps) != 0 {
		t.Errorf("endpoint records after refused creates: %v, %v", eps, err)
	}
	if dirs, err := os.ReadDir(filepath.Join(d.cfg.Root, "containers")); err != nil || len(dirs) != 1 {
		t.Errorf("container directories after refused creates: %d, %v, want taken's", len(dirs), err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestContainerListAndNames(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	a := create(t, d, "", container.Config{Labels: map[string]string{"tier": "db"}})
	b := create(t, d, "second", container.Config{})
	if list, err := d.ContainerList(ctx, false, nil); err != nil || len(list) != 0 {
		t.Errorf("running containers = %+v, %v", list, err)
	}
	list, err := d.ContainerList(ctx, true, nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("all = %+v, %v", list, err)
	}
	if list[0].ID != b || list[1].ID != a || list[0].Names[0] != "/second" || !strings.HasPrefix(list[1].Names[0], "/pier_") ||
		list[0].Status != "Created" || list[0].Command != "/hello world" || list[0].Image != "img" {
		t.Errorf("all = %+v", list)
	}
	for filter, want := range map[string]string{"name": "second", "id": a[:6], "label": "tier=db", "status": "created"} {
		got, err := d.ContainerList(ctx, true, map[string][]string{filter: {want}})
		if err != nil || len(got) == 0 || (filter != "status" && len(got) != 1) {
			t.Errorf("filter %s=%s: %+v, %v", filter, want, got, err)
		}
	}
	if _, err := d.ContainerList(ctx, true, map[string][]string{"bogus": {"1"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("bad filter: %v", err)
	}
	if _, err := d.ContainerInspect(ctx, ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("empty ref: %v", err)
	}
}

func TestStatusText(t *testing.T) {
	now := time.Now()
	cases := []struct {
		r    containerRecord
		want string
	}{
		{containerRecord{State: container.StateCreated}, "Created"},
		{containerRecord{State: container.StateRunning, StartedAt: now.Add(-5 * time.Second)}, "Up 5 seconds"},
		{containerRecord{State: container.StateExited, ExitCode: 3, FinishedAt: now.Add(-90 * time.Second)}, "Exited (3) About a minute ago"},
		{containerRecord{State: container.StateExited, FinishedAt: now.Add(-3 * time.Hour)}, "Exited (0) 3 hours ago"},
	}
	for _, tc := range cases {
		if got := statusText(tc.r, now); got != tc.want {
			t.Errorf("statusText(%+v) = %q, want %q", tc.r.State, got, tc.want)
		}
	}
}

func TestStopAndKillNeedRunning(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	id := create(t, d, "idle", container.Config{})
	if err := d.ContainerStop(ctx, id, nil); !errors.Is(err, errdefs.ErrNotRunning) {
		t.Errorf("stop of created: %v", err)
	}
	if err := d.ContainerKill(ctx, id, "TERM"); !errors.Is(err, errdefs.ErrNotRunning) {
		t.Errorf("kill of created: %v", err)
	}
	// Waiting for a container that does not run returns at once.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if resp, err := d.ContainerWait(wctx, id, container.WaitConditionNotRunning); err != nil || resp.StatusCode != 0 {
		t.Errorf("wait not-running = %+v, %v", resp, err)
	}
}
