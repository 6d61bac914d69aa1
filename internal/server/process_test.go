package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeProcesses adds the process verbs to fakeContainers' "c1".
type fakeProcesses struct {
	fakeContainers
	paused   bool
	name     string
	psArgs   string
	restartT *int
	restarts int
}

func (f *fakeProcesses) ContainerPause(_ context.Context, ref string) error {
	if err := f.find(ref); err != nil {
		return err
	}
	if f.paused {
		return fmt.Errorf("already paused: %w", errdefs.ErrConflict)
	}
	f.paused = true
	return nil
}

func (f *fakeProcesses) ContainerUnpause(_ context.Context, ref string) error {
	if err := f.find(ref); err != nil {
		return err
	}
	if !f.paused {
		return fmt.Errorf("not paused: %w", errdefs.ErrConflict)
	}
	f.paused = false
	return nil
}

func (f *fakeProcesses) ContainerTop(_ context.Context, ref, psArgs string) (container.TopResponse, error) {
	f.psArgs = psArgs
	return container.TopResponse{Titles: []string{"PID", "NSPID", "CMD"}, Processes: [][]string{{"4242", "1", "sleep 9"}}}, f.find(ref)
}

func (f *fakeProcesses) ContainerRename(_ context.Context, ref, newName string) error {
	if err := f.find(ref); err != nil {
		return err
	}
	if newName == "taken" {
		return fmt.Errorf("name in use: %w", errdefs.ErrConflict)
	}
	f.name = newName
	return nil
}

func (f *fakeProcesses) ContainerRestart(_ context.Context, ref string, timeout *int) error {
	f.restartT = timeout
	f.restarts++
	return f.find(ref)
}

func (f *fakeProcesses) ContainerNamespaces(_ context.Context, ref string) (int, map[string]string, error) {
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return 0, nil, err
	}
	return 4242, map[string]string{"net": own, "mnt": "mnt:[4026532177]"}, f.find(ref)
}

func TestProcessVerbs(t *testing.T) {
	f := &fakeProcesses{}
	s := New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"})
	steps := []struct {
		method, path string
		want         int
	}{
		{"POST", "/containers/c1/pause", http.StatusNoContent},
		{"POST", "/containers/c1/pause", http.StatusConflict},
		{"POST", "/containers/c1/unpause", http.StatusNoContent},
		{"POST", "/containers/c1/unpause", http.StatusConflict},
		{"POST", "/containers/nope/pause", http.StatusNotFound},
		{"POST", "/containers/c1/rename?name=web", http.StatusNoContent},
		{"POST", "/containers/c1/rename?name=taken", http.StatusConflict},
		{"POST", "/containers/c1/restart?t=x", http.StatusBadRequest},
		{"POST", "/containers/c1/restart?t=2", http.StatusNoContent},
		{"POST", "/containers/nope/restart", http.StatusNotFound},
	}
	for _, st := range steps {
		rec := doBody(t, s, st.method, st.path, "", "")
		if rec.Code != st.want {
			t.Errorf("%s %s = %d %s, want %d", st.method, st.path, rec.Code, rec.Body, st.want)
		}
	}
	if f.name != "web" {
		t.Errorf("renamed to %q, want web", f.name)
	}
	if f.restarts != 2 || f.restartT != nil {
		t.Errorf("restarts %d, last timeout %v; want 2, nil", f.restarts, f.restartT)
	}
}

func TestProcessTopAndNamespaces(t *testing.T) {
	f := &fakeProcesses{}
	s := New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"})
	rec := doBody(t, s, "GET", "/containers/c1/top?ps_args=aux", "", "")
	var top container.TopResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &top); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("top = %d %s (%v)", rec.Code, rec.Body, err)
	}
	if f.psArgs != "aux" || len(top.Processes) != 1 || top.Titles[1] != "NSPID" {
		t.Errorf("top with ps_args %q = %+v", f.psArgs, top)
	}
	rec = doBody(t, s, "GET", "/containers/c1/ns", "", "")
	var ns []Namespace
	if err := json.Unmarshal(rec.Body.Bytes(), &ns); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("ns = %d %s (%v)", rec.Code, rec.Body, err)
	}
	want := []Namespace{
		{Type: "mnt", Inode: 4026532177, Path: "/proc/4242/ns/mnt"},
		{Type: "net", Path: "/proc/4242/ns/net", Shared: true},
	}
	if len(ns) != 2 || ns[0] != want[0] || ns[1].Type != "net" || !ns[1].Shared || ns[1].Inode == 0 {
		t.Errorf("ns = %+v, want like %+v", ns, want)
	}
	if rec := doBody(t, s, "GET", "/containers/nope/ns", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("ns of unknown = %d", rec.Code)
	}
}
