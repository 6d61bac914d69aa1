package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// result is one init's medians.
type result struct {
	initCmd
	Command          string  `json:"command"`
	BinaryBytes      int64   `json:"binary_bytes"`
	RssKB            float64 `json:"rss_kb"`
	PssKB            float64 `json:"pss_kb"`
	AnonKB           float64 `json:"anon_kb"`
	DirtyKB          float64 `json:"private_dirty_kb"`
	Threads          float64 `json:"threads"`
	SignalToExitMs   float64 `json:"signal_to_exit_ms"`
	SignalToExitMin  float64 `json:"signal_to_exit_min_ms"`
	ChildGoneMs      float64 `json:"child_gone_ms"`
	RssRatio         float64 `json:"rss_ratio_to_pier_init"`
	AnonRatio        float64 `json:"anon_ratio_to_pier_init"`
	SignalToExitRate float64 `json:"signal_to_exit_ratio_to_pier_init"`
}

type report struct {
	Rounds   int      `json:"rounds"`
	Measured string   `json:"measured"`
	Date     string   `json:"date"`
	Results  []result `json:"results"`
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(inits []initCmd, samples map[string][]sample, n int) report {
	r := report{
		Rounds:   n,
		Measured: "each init as PID 1 of `unshare --pid --fork --mount-proc INIT sleep 1000`; memory from smaps_rollup 300ms after the child started; signal_to_exit from kill(SIGTERM) to PID 1's pidfd readable; medians",
		Date:     time.Now().UTC().Format(time.RFC3339),
	}
	for _, in := range inits {
		var rss, pss, anon, dirty, thr, ste, cg []float64
		for _, s := range samples[in.Name] {
			rss = append(rss, float64(s.RssKB))
			pss = append(pss, float64(s.PssKB))
			anon = append(anon, float64(s.AnonKB))
			dirty = append(dirty, float64(s.DirtyKB))
			thr = append(thr, float64(s.Threads))
			ste = append(ste, ms(s.SignalToExit))
			cg = append(cg, ms(s.ChildGone))
		}
		r.Results = append(r.Results, result{initCmd: in, Command: joinArgs(in), BinaryBytes: binarySize(in.Path),
			RssKB: median(rss), PssKB: median(pss), AnonKB: median(anon), DirtyKB: median(dirty), Threads: median(thr), SignalToExitMs: median(ste),
			SignalToExitMin: slices.Min(ste), ChildGoneMs: median(cg)})
	}
	base := r.Results[0]
	for i := range r.Results {
		x := &r.Results[i]
		x.RssRatio = x.RssKB / base.RssKB
		x.AnonRatio = x.AnonKB / base.AnonKB
		x.SignalToExitRate = x.SignalToExitMs / base.SignalToExitMs
	}
	return r
}

func printTable(w io.Writer, r report) {
	fmt.Fprintf(w, "init as PID 1 over `sleep 1000`, medians of %d rounds (min_ms: fastest SIGTERM to exit;\n", r.Rounds)
	fmt.Fprintf(w, "child_ms: SIGTERM to the child's exit; dirty_kB: Private_Dirty, the per-container cost; ratios: peer / pier-init)\n")
	fmt.Fprintf(w, "%-10s %9s %8s %8s %8s %8s %7s %11s %9s %9s %7s %7s %7s\n",
		"init", "binary", "rss_kB", "pss_kB", "anon_kB", "dirty_kB", "threads", "sigterm_ms", "min_ms", "child_ms", "rss_x", "anon_x", "term_x")
	for _, x := range r.Results {
		fmt.Fprintf(w, "%-10s %9d %8.0f %8.0f %8.0f %8.0f %7.0f %11.3f %9.3f %9.3f %7.2f %7.2f %7.2f\n",
			x.Name, x.BinaryBytes, x.RssKB, x.PssKB, x.AnonKB, x.DirtyKB, x.Threads, x.SignalToExitMs,
			x.SignalToExitMin, x.ChildGoneMs, x.RssRatio, x.AnonRatio, x.SignalToExitRate)
	}
}

func writeJSON(path string, r report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
