package filter

import (
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-2*time.Hour), now.Add(-time.Minute)
	labels := map[string]string{"tier": "x", "team": "a"}
	for _, tc := range []struct {
		filters map[string][]string
		labels  map[string]string
		created time.Time
		want    bool
	}{
		{nil, nil, recent, true},
		{map[string][]string{"label": {"tier=x", "team"}}, labels, recent, true},
		{map[string][]string{"label": {"tier=x", "other"}}, labels, recent, false}, // every label, not any
		{map[string][]string{"label!": {"team=a"}}, labels, recent, false},
		{map[string][]string{"label!": {"team=b"}}, labels, recent, true},
		{map[string][]string{"until": {"1h"}}, nil, old, true},
		{map[string][]string{"until": {"1h"}}, nil, recent, false},
	} {
		p, err := ParsePrune(tc.filters, now)
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		if got := p.Match(tc.labels, tc.created); got != tc.want {
			t.Errorf("%v on %v created %s: %v, want %v", tc.filters, tc.labels, tc.created, got, tc.want)
		}
	}
	for _, f := range []map[string][]string{{"dangling": {"true"}}, {"until": {"soon"}}} {
		if _, err := ParsePrune(f, now); err == nil {
			t.Errorf("%v accepted", f)
		}
	}
}
