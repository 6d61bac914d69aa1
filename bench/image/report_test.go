package main

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	odd := summarise([]time.Duration{5, 1, 3})
	if odd != (stats{Median: 3, Min: 1, Max: 5}) {
		t.Errorf("odd: %+v", odd)
	}
	if even := summarise([]time.Duration{4, 1, 2, 3}); even.Median != 2 {
		t.Errorf("even median: %v, want 2 (mean of 2 and 3, truncated)", even.Median)
	}
}

func TestSummarisePullAddsSteps(t *testing.T) {
	c := contender{name: "x", steps: []string{"copy", "unpack"}}
	r := summarisePull(c, [][]time.Duration{{1, 10}, {2, 20}, {3, 30}})
	if r.Median != 22 || r.Min != 11 || r.Max != 33 {
		t.Errorf("totals: %+v", r.stats)
	}
	if len(r.Steps) != 2 || r.Steps[1].Step != "unpack" || r.Steps[1].Median != 20 {
		t.Errorf("steps: %+v", r.Steps)
	}
}
