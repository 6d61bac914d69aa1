package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// fakeStats adds stats and update to fakeContainers' "c1".
type fakeStats struct {
	fakeContainers
	stream bool
	update container.UpdateConfig
}

func (f *fakeStats) ContainerStats(_ context.Context, ref string, stream bool, fn func(container.StatsResponse) error) error {
	if err := f.find(ref); err != nil {
		return err
	}
	f.stream = stream
	n := 1
	if stream {
		n = 3
	}
	for i := range n {
		st := container.StatsResponse{ID: "c1", MemoryStats: container.MemoryStats{Usage: uint64(i + 1)}}
		if err := fn(st); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStats) ContainerUpdate(_ context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error) {
	f.update = u
	return container.UpdateResponse{Warnings: []string{}}, f.find(ref)
}

func TestStatsStreamAndOneShot(t *testing.T) {
	f := &fakeStats{}
	s := New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"})
	rec := doBody(t, s, "GET", "/containers/c1/stats", "", "")
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	var usages []uint64
	for sc.Scan() {
		var st container.StatsResponse
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		usages = append(usages, st.MemoryStats.Usage)
	}
	if rec.Code != http.StatusOK || !f.stream || len(usages) != 3 || usages[2] != 3 {
		t.Errorf("stream = %d, stream %v, usages %v", rec.Code, f.stream, usages)
	}
	for _, q := range []string{"?stream=0", "?stream=false&one-shot=1"} {
		rec = doBody(t, s, "GET", "/containers/c1/stats"+q, "", "")
		if rec.Code != http.StatusOK || f.stream || strings.Count(rec.Body.String(), "\n") != 1 {
			t.Errorf("stats%s = %d %q, stream %v", q, rec.Code, rec.Body, f.stream)
		}
	}
	if rec := doBody(t, s, "GET", "/containers/nope/stats?stream=0", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("stats of unknown = %d", rec.Code)
	}
}

func TestUpdate(t *testing.T) {
	f := &fakeStats{}
	s := New(Config{Backend: &fakeBackend{}, Containers: f, Version: "9.8.7"})
	rec := doBody(t, s, "POST", "/containers/c1/update", "application/json", `{"Memory":67108864,"MemorySwap":67108864}`)
	if rec.Code != http.StatusOK || f.update.Memory != 67108864 || f.update.MemorySwap != 67108864 {
		t.Errorf("update = %d %s, got %+v", rec.Code, rec.Body, f.update.Resources)
	}
	if rec := doBody(t, s, "POST", "/containers/c1/update", "application/json", `{`); rec.Code != http.StatusBadRequest {
		t.Errorf("bad body = %d", rec.Code)
	}
	if rec := doBody(t, s, "POST", "/containers/nope/update", "application/json", `{}`); rec.Code != http.StatusNotFound {
		t.Errorf("update of unknown = %d", rec.Code)
	}
}
