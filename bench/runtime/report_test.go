package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func samplesOf(ms ...int) []sample {
	var s []sample
	for i, m := range ms {
		s = append(s, sample{elapsed: time.Duration(m) * time.Millisecond, maxRSS: int64(1000 * (i + 1))})
	}
	return s
}

func TestSummarise(t *testing.T) {
	s := summarise(samplesOf(30, 10, 20, 50))
	if s.Median != 25*time.Millisecond || s.Min != 10*time.Millisecond || s.Max != 50*time.Millisecond {
		t.Errorf("median/min/max = %v/%v/%v, want 25ms/10ms/50ms", s.Median, s.Min, s.Max)
	}
	if s.Mean != 27500*time.Microsecond {
		t.Errorf("mean = %v, want 27.5ms", s.Mean)
	}
	if s.RSSMedian != 2500 || s.RSSMax != 4000 {
		t.Errorf("rss median/max = %d/%d, want 2500/4000", s.RSSMedian, s.RSSMax)
	}
	if odd := summarise(samplesOf(7, 3, 5)); odd.Median != 5*time.Millisecond {
		t.Errorf("odd median = %v, want 5ms", odd.Median)
	}
	if empty := summarise(nil); empty != (stats{}) {
		t.Errorf("empty = %+v, want zero", empty)
	}
}

// Ratios compare like with like: a bare variant against the bare peer,
// never against a wrapped one, and nothing against a failed peer.
func TestRatioTo(t *testing.T) {
	pier := &result{v: &variant{runtime: "pier-runtime", wrapped: true}, samples: samplesOf(10)}
	runc := &result{v: &variant{runtime: "runc", wrapped: true}, samples: samplesOf(40)}
	crun := &result{v: &variant{runtime: "crun", wrapped: true}, samples: samplesOf(20)}
	pierBare := &result{v: &variant{runtime: "pier-runtime"}, samples: samplesOf(6)}
	runcBare := &result{v: &variant{runtime: "runc"}, samples: samplesOf(30)}
	rs := []*result{pier, runc, crun, pierBare, runcBare}
	for _, c := range []struct {
		x    *result
		peer string
		want float64
	}{
		{pier, "crun", 0.5}, {pier, "runc", 0.25}, {crun, "crun", 1},
		{pierBare, "runc", 0.2}, {pierBare, "crun", 0},
	} {
		if got := ratioTo(rs, c.x, c.peer); got != c.want {
			t.Errorf("%s vs %s = %v, want %v", c.x.v.label(), c.peer, got, c.want)
		}
	}
	runc.err = errors.New("broken")
	if got := ratioTo(rs, pier, "runc"); got != 0 {
		t.Errorf("ratio to a failed peer = %v, want 0", got)
	}
}

// roundRobin must rotate the starting variant, drop warm-up samples and
// take a failing variant out of the rotation.
func TestRoundRobin(t *testing.T) {
	a := &result{v: &variant{runtime: "a"}}
	b := &result{v: &variant{runtime: "b"}}
	var order []string
	roundRobin(t.Context(), []*result{a, b}, 1, 3, func(r *result) (sample, error) {
		order = append(order, r.v.runtime)
		if r == b && len(order) > 4 {
			return sample{}, errors.New("boom")
		}
		return sample{elapsed: time.Millisecond}, nil
	})
	if got, want := strings.Join(order, " "), "a b b a a b a"; got != want {
		t.Errorf("order = %q, want %q", got, want)
	}
	if len(a.samples) != 3 || len(b.samples) != 1 || b.err == nil {
		t.Errorf("a %d samples, b %d samples err %v; want 3, 1, an error", len(a.samples), len(b.samples), b.err)
	}
}

func TestSubcommand(t *testing.T) {
	v := &variant{runtime: "crun", bin: "/usr/bin/crun", root: "/tmp/s", wrapped: true}
	if got := subcommand(v.command("exec", "id", "/bin/true").Args); got != "crun exec" {
		t.Errorf("wrapped: %q, want %q", got, "crun exec")
	}
	v.wrapped = false
	if got := subcommand(v.command("run", "--bundle", "b", "id").Args); got != "crun run" {
		t.Errorf("bare: %q, want %q", got, "crun run")
	}
}
