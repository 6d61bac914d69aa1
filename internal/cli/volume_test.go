package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/server"
)

// fakeVolumes is a volume backend in memory; "busy" volumes are in use.
type fakeVolumes struct {
	mu sync.Mutex
	// Guarded by mu.
	vols        map[string]volume.Volume
	lastFilters map[string][]string
	lastCreate  volume.CreateRequest
}

func (f *fakeVolumes) VolumeCreate(_ context.Context, req volume.CreateRequest) (volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastCreate = req
	if strings.ContainsAny(req.Name, "/ ") {
		return volume.Volume{}, fmt.Errorf("%q includes invalid characters for a local volume name: %w", req.Name, errdefs.ErrInvalidArgument)
	}
	labels := req.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	v := volume.Volume{Name: req.Name, Driver: "local", Labels: labels, Options: map[string]string{},
		Mountpoint: "/var/lib/pier/volumes/" + req.Name + "/_data", Scope: "local", CreatedAt: "2026-01-02T03:04:05Z"}
	f.vols[req.Name] = v
	return v, nil
}

func (f *fakeVolumes) VolumeList(_ context.Context, filters map[string][]string) (volume.ListResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilters = filters
	var out volume.ListResponse
	for _, v := range f.vols {
		if names, ok := filters["name"]; ok && !slices.Contains(names, v.Name) {
			continue
		}
		out.Volumes = append(out.Volumes, v)
	}
	return out, nil
}

func (f *fakeVolumes) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vols[name]
	if !ok {
		return volume.Volume{}, fmt.Errorf("get %s: no such volume: %w", name, errdefs.ErrNotFound)
	}
	return v, nil
}

func (f *fakeVolumes) VolumeRemove(_ context.Context, name string, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.vols[name]; !ok {
		if force {
			return nil
		}
		return fmt.Errorf("get %s: no such volume: %w", name, errdefs.ErrNotFound)
	}
	if strings.HasPrefix(name, "busy") {
		return fmt.Errorf("remove %s: volume is in use: %w", name, errdefs.ErrConflict)
	}
	delete(f.vols, name)
	return nil
}

func (f *fakeVolumes) VolumePrune(_ context.Context, filters map[string][]string) (volume.PruneReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilters = filters
	var r volume.PruneReport
	if len(filters["all"]) == 0 {
		return r, nil
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range f.vols {
			if !yield(n) {
				return
			}
		}
	}) {
		if !strings.HasPrefix(name, "busy") {
			delete(f.vols, name)
			r.VolumesDeleted = append(r.VolumesDeleted, name)
			r.SpaceReclaimed += 2048
		}
	}
	return r, nil
}

// startVolumeServer serves the real API with fake volumes on a Unix socket.
func startVolumeServer(t *testing.T) (string, *fakeVolumes) {
	f := &fakeVolumes{vols: map[string]volume.Volume{}}
	return serveAPI(t, server.New(server.Config{Backend: fakeBackend{}, Volumes: f, Version: "7.7.7"})), f
}

func TestVolumeCreate(t *testing.T) {
	host, f := startVolumeServer(t)
	code, out, errs := run(t, "-H", host, "volume", "create", "v1", "--label", "a=b", "--label", "flag", "-o", "k=v")
	if code != 0 || out != "v1\n" {
		t.Fatalf("volume create = %d %q %q", code, out, errs)
	}
	want := volume.CreateRequest{Name: "v1", Driver: "local", Labels: map[string]string{"a": "b", "flag": ""},
		DriverOpts: map[string]string{"k": "v"}}
	if fmt.Sprint(f.lastCreate) != fmt.Sprint(want) {
		t.Errorf("daemon got %+v, want %+v", f.lastCreate, want)
	}
	if code, out, _ := run(t, "-H", host, "volume", "create", "--name", "v2"); code != 0 || out != "v2\n" {
		t.Errorf("volume create --name = %d %q", code, out)
	}
	if code, _, errs := run(t, "-H", host, "volume", "create", "--name", "x", "y"); code != ExitFailure || !strings.Contains(errs, "conflicting options") {
		t.Errorf("--name and an argument = %d %q", code, errs)
	}
	code, _, errs = run(t, "-H", host, "volume", "create", "a/b")
	if code != ExitFailure || !strings.Contains(errs, "Error response from daemon") || !strings.Contains(errs, "invalid characters") {
		t.Errorf("volume create a/b = %d %q", code, errs)
	}
}

func TestVolumeList(t *testing.T) {
	host, f := startVolumeServer(t)
	code, out, _ := run(t, "-H", host, "volume", "ls")
	if code != 0 || out != "DRIVER    VOLUME NAME\n" {
		t.Errorf("empty volume ls = %d %q", code, out)
	}
	for _, n := range []string{"beta", "alpha"} {
		if code, _, errs := run(t, "-H", host, "volume", "create", n, "--label", "n="+n); code != 0 {
			t.Fatalf("create %s: %s", n, errs)
		}
	}
	code, out, errs := run(t, "-H", host, "volume", "ls")
	if want := "DRIVER    VOLUME NAME\nlocal     alpha\nlocal     beta\n"; code != 0 || out != want {
		t.Errorf("volume ls = %d %q %q, want %q", code, out, errs, want)
	}
	if code, out, _ := run(t, "-H", host, "volume", "list", "-q"); code != 0 || out != "alpha\nbeta\n" {
		t.Errorf("volume ls -q = %d %q", code, out)
	}
	code, out, _ = run(t, "-H", host, "volume", "ls", "--filter", "name=beta", "-f", "label=n", "--format", "{{.Name}} {{.Labels}} {{.Label \"n\"}}")
	if code != 0 || out != "beta n=beta beta\n" {
		t.Errorf("volume ls --filter --format = %d %q", code, out)
	}
	if !slices.Equal(f.lastFilters["name"], []string{"beta"}) || !slices.Equal(f.lastFilters["label"], []string{"n"}) {
		t.Errorf("filters reached the daemon as %v", f.lastFilters)
	}
	code, out, _ = run(t, "-H", host, "volume", "ls", "--format", `table {{.Name}}\t{{.Scope}}`)
	if want := "VOLUME NAME   SCOPE\nalpha         local\nbeta          local\n"; code != 0 || out != want {
		t.Errorf("volume ls --format table = %d %q, want %q", code, out, want)
	}
	code, out, _ = run(t, "-H", host, "volume", "ls", "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var row map[string]string
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &row) != nil || row["Name"] != "alpha" || row["Driver"] != "local" ||
		row["Labels"] != "n=alpha" || row["Size"] != "N/A" || len(row) != 10 {
		t.Errorf("volume ls --format json = %d %q", code, out)
	}
	if code, _, errs := run(t, "-H", host, "volume", "ls", "--filter", "nonsense"); code != ExitFailure || !strings.Contains(errs, "bad format of filter") {
		t.Errorf("volume ls --filter nonsense = %d %q", code, errs)
	}
}

func TestVolumeInspect(t *testing.T) {
	host, _ := startVolumeServer(t)
	run(t, "-H", host, "volume", "create", "v1", "--label", "a=b")
	code, out, errs := run(t, "-H", host, "volume", "inspect", "v1")
	var vols []volume.Volume
	if code != 0 || json.Unmarshal([]byte(out), &vols) != nil || len(vols) != 1 || vols[0].Labels["a"] != "b" {
		t.Fatalf("volume inspect = %d %q %q", code, out, errs)
	}
	if !strings.HasPrefix(out, "[\n    {\n        \"") {
		t.Errorf("volume inspect is not indented as docker's: %q", out)
	}
	if code, out, _ := run(t, "-H", host, "volume", "inspect", "-f", "{{.Mountpoint}}", "v1"); code != 0 || out != "/var/lib/pier/volumes/v1/_data\n" {
		t.Errorf("volume inspect -f = %d %q", code, out)
	}
	code, out, errs = run(t, "-H", host, "volume", "inspect", "nope", "v1")
	if code != ExitFailure || !strings.Contains(errs, "no such volume") || json.Unmarshal([]byte(out), &vols) != nil || len(vols) != 1 {
		t.Errorf("volume inspect nope v1 = %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "-H", host, "volume", "inspect", "nope"); code != ExitFailure || out != "[]\n" {
		t.Errorf("volume inspect nope = %d %q, want [] and an error", code, out)
	}
}

func TestVolumeRemove(t *testing.T) {
	host, f := startVolumeServer(t)
	for _, n := range []string{"v1", "v2", "busy"} {
		run(t, "-H", host, "volume", "create", n)
	}
	code, out, errs := run(t, "-H", host, "volume", "rm", "v1", "nope", "busy", "v2")
	if code != ExitFailure || out != "v1\nv2\n" || !strings.Contains(errs, "no such volume") || !strings.Contains(errs, "in use") {
		t.Errorf("volume rm = %d %q %q", code, out, errs)
	}
	if _, ok := f.vols["busy"]; !ok || len(f.vols) != 1 {
		t.Errorf("volumes left: %v", f.vols)
	}
	if code, out, errs := run(t, "-H", host, "volume", "remove", "-f", "nope"); code != 0 || out != "nope\n" {
		t.Errorf("volume rm -f nope = %d %q %q", code, out, errs)
	}
}

func TestVolumePrune(t *testing.T) {
	host, f := startVolumeServer(t)
	for _, n := range []string{"v1", "v2", "busy"} {
		run(t, "-H", host, "volume", "create", n)
	}
	code, out, _ := run(t, "-H", host, "volume", "prune", "-f", "--filter", "label=x")
	if code != 0 || out != "Total reclaimed space: 0B\n" || !slices.Equal(f.lastFilters["label"], []string{"x"}) {
		t.Errorf("volume prune = %d %q, filters %v", code, out, f.lastFilters)
	}
	code, out, _ = run(t, "-H", host, "volume", "prune", "--force", "--all")
	if want := "Deleted Volumes:\nv1\nv2\n\nTotal reclaimed space: 4.096kB\n"; code != 0 || out != want {
		t.Errorf("volume prune --all = %d %q, want %q", code, out, want)
	}
	// Without -f it asks; only y goes ahead.
	run(t, "-H", host, "volume", "create", "v3")
	withStdin(t, "n\n")
	code, out, errs := run(t, "-H", host, "volume", "prune", "--all")
	if code != ExitFailure || !strings.Contains(out, "WARNING! This will remove all local volumes") || !strings.Contains(errs, "cancelled") {
		t.Errorf("volume prune answered n = %d %q %q", code, out, errs)
	}
	withStdin(t, "y\n")
	code, out, errs = run(t, "-H", host, "volume", "prune")
	if code != 0 || !strings.Contains(out, "WARNING! This will remove anonymous local volumes") || strings.Contains(out, "v3") {
		t.Errorf("volume prune answered y = %d %q %q", code, out, errs)
	}
}

// withStdin makes os.Stdin, which cobra reads, a file holding s.
func withStdin(t *testing.T, s string) {
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
}

func TestVolumeConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "Y": true, "yes\n": false, "\n": false, "": false, "n\n": false} {
		var out strings.Builder
		if got := confirm(strings.NewReader(in), &out, "Sure?"); got != want || out.String() != "Sure? [y/N] " {
			t.Errorf("confirm(%q) = %v %q, want %v", in, got, out.String(), want)
		}
	}
}
