package volume

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestListFilters(t *testing.T) {
	e := newEnv(t)
	e.s.Create("web-data", map[string]string{"app": "web", "tier": "front"}, nil)
	e.s.Create("db-data", map[string]string{"app": "db"}, nil)
	e.s.Create("cache", nil, nil)
	inUse := usedSet("db-data")
	yes, no := true, false
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"cache", "db-data", "web-data"}},
		{"name substring", Filter{Names: []string{"data"}}, []string{"db-data", "web-data"}},
		{"names are or-ed", Filter{Names: []string{"web", "cache"}}, []string{"cache", "web-data"}},
		{"label key", Filter{Labels: []string{"app"}}, []string{"db-data", "web-data"}},
		{"label key=value", Filter{Labels: []string{"app=web"}}, []string{"web-data"}},
		{"labels are and-ed", Filter{Labels: []string{"app", "tier=front"}}, []string{"web-data"}},
		{"label value mismatch", Filter{Labels: []string{"app=nope"}}, nil},
		{"driver", Filter{Drivers: []string{"local"}}, []string{"cache", "db-data", "web-data"}},
		{"other driver", Filter{Drivers: []string{"nfs"}}, nil},
		{"dangling", Filter{Dangling: &yes, InUse: inUse}, []string{"cache", "web-data"}},
		{"not dangling", Filter{Dangling: &no, InUse: inUse}, []string{"db-data"}},
		{"dangling, nil InUse", Filter{Dangling: &yes}, []string{"cache", "db-data", "web-data"}},
		{"name and label", Filter{Names: []string{"data"}, Labels: []string{"app=db"}}, []string{"db-data"}},
	}
	for _, c := range cases {
		vols, err := e.s.List(c.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(vols); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	f, err := ParseFilter(map[string][]string{"name": {"a"}, "label": {"k=v"}, "dangling": {"true"}, "driver": {"local"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Names, []string{"a"}) || !slices.Equal(f.Labels, []string{"k=v"}) || f.Dangling == nil || !*f.Dangling || len(f.Drivers) != 1 {
		t.Fatalf("ParseFilter = %+v", f)
	}
	if f, _ := ParseFilter(map[string][]string{"dangling": {"0"}}); f.Dangling == nil || *f.Dangling {
		t.Fatalf("dangling=0 parsed as %+v", f)
	}
	for _, bad := range []map[string][]string{{"dangling": {"maybe"}}, {"colour": {"x"}}} {
		if _, err := ParseFilter(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("ParseFilter(%v) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	p, err := ParsePruneFilter(map[string][]string{"all": {"1"}, "label": {"a"}, "label!": {"b=c"}})
	if err != nil || !p.All || !slices.Equal(p.Labels, []string{"a"}) || !slices.Equal(p.NotLabels, []string{"b=c"}) {
		t.Fatalf("ParsePruneFilter = %+v, %v", p, err)
	}
	if _, err := ParsePruneFilter(map[string][]string{"dangling": {"true"}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("prune with unknown key = %v", err)
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	anon := map[string]string{AnonymousLabel: ""}
	a1, _ := e.s.Create("", anon, nil)
	a2, _ := e.s.Create("", map[string]string{AnonymousLabel: "", "keep": "yes"}, nil)
	a3, _ := e.s.Create("", anon, nil)
	e.s.Create("named", nil, nil)
	e.s.Create("named-used", nil, nil)
	os.WriteFile(filepath.Join(a1.Mountpoint, "f"), make([]byte, 300), 0o644)
	os.WriteFile(filepath.Join(a2.Mountpoint, "f"), make([]byte, 50), 0o644)
	inUse := usedSet(a3.Name, "named-used")

	// Default: anonymous, unused, without the excluded label.
	removed, space, err := e.s.Prune(inUse, PruneFilter{NotLabels: []string{"keep=yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{a1.Name}) || space != 300 {
		t.Fatalf("prune removed %v (%d bytes), want [%s] (300)", removed, space, a1.Name)
	}
	if _, err := os.Stat(a1.Mountpoint); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pruned data still there: %v", err)
	}
	// A label filter that matches nothing removes nothing.
	if removed, _, _ := e.s.Prune(inUse, PruneFilter{All: true, Labels: []string{"nope"}}); len(removed) != 0 {
		t.Fatalf("label filter ignored: removed %v", removed)
	}
	// all=true: every unused volume, named ones too.
	removed, space, err = e.s.Prune(inUse, PruneFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a2.Name, "named"}
	slices.Sort(want)
	if !slices.Equal(removed, want) || space != 50 {
		t.Fatalf("prune all removed %v (%d bytes), want %v (50)", removed, space, want)
	}
	left, _ := e.s.List(Filter{})
	if got := names(left); len(got) != 2 || !inUse(got[0]) || !inUse(got[1]) {
		t.Fatalf("left after prune: %v, want the two in use", got)
	}
}
