package daemon

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestPsFilters(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	first := create(t, d, "first", container.Config{})
	mid, err := d.ContainerCreate(ctx, "mid", container.CreateRequest{
		Config:     &container.Config{Image: "img"},
		HostConfig: &container.HostConfig{NetworkMode: "host", Binds: []string{"data:/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	last := create(t, d, "last", container.Config{})
	ids := func(f map[string][]string) []string {
		t.Helper()
		list, err := d.ContainerList(ctx, true, f)
		if err != nil {
			t.Fatalf("filter %v: %v", f, err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    map[string][]string
		want []string
	}{
		{map[string][]string{"before": {"mid"}}, []string{first}},
		{map[string][]string{"since": {"mid"}}, []string{last}},
		{map[string][]string{"network": {"host"}}, []string{mid.ID}},
		{map[string][]string{"volume": {"data"}}, []string{mid.ID}},
		{map[string][]string{"volume": {"/data"}}, []string{mid.ID}},
		{map[string][]string{"ancestor": {"img"}}, []string{last, mid.ID, first}},
		{map[string][]string{"ancestor": {"other"}}, nil},
		{map[string][]string{"health": {"none"}, "name": {"first", "last"}}, []string{last, first}},
		{map[string][]string{"health": {"healthy"}}, nil},
		{map[string][]string{"exited": {"0"}}, nil},
		{map[string][]string{"status": {"created"}, "since": {"first"}}, []string{last, mid.ID}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("filter %v = %v, want %v", tc.f, got, tc.want)
		}
	}
	for _, bad := range []map[string][]string{{"exited": {"x"}}, {"before": {"nope"}}, {"bogus": {"1"}}} {
		if _, err := d.ContainerList(ctx, true, bad); !errors.Is(err, errdefs.ErrInvalidArgument) && !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("filter %v: %v, want a bad-input error", bad, err)
		}
	}
}
