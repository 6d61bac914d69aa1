package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// stats summarises one result's samples.
type stats struct {
	Median, Min, Max, Mean time.Duration
	RSSMedian, RSSMax      int64 // KiB
}

func summarise(samples []sample) stats {
	if len(samples) == 0 {
		return stats{}
	}
	ds := make([]time.Duration, len(samples))
	rss := make([]int64, len(samples))
	var sum time.Duration
	for i, s := range samples {
		ds[i], rss[i] = s.elapsed, s.maxRSS
		sum += s.elapsed
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	return stats{
		Median:    median(ds),
		Min:       ds[0],
		Max:       ds[len(ds)-1],
		Mean:      sum / time.Duration(len(ds)),
		RSSMedian: median(rss),
		RSSMax:    rss[len(rss)-1],
	}
}

// median of sorted values; the mean of the middle two for an even count.
func median[T int64 | time.Duration](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// ratio is a's median over b's, 0 when either is unknown.
func ratio(a, b stats) float64 {
	if a.Median == 0 || b.Median == 0 {
		return 0
	}
	return float64(a.Median) / float64(b.Median)
}

type report struct {
	opts     options
	variants []*variant
	results  [][]*result
}

func newReport(o options, vs []*variant) *report { return &report{opts: o, variants: vs} }

func (r *report) add(rs []*result) { r.results = append(r.results, rs) }

// reference finds the result of runtime name invoked the same way as v, the
// baseline of a fair ratio; nil if there is none or it failed.
func reference(rs []*result, name string, wrapped bool) *result {
	for _, x := range rs {
		if x.v.runtime == name && x.v.wrapped == wrapped && x.err == nil {
			return x
		}
	}
	return nil
}

func ratioTo(rs []*result, x *result, name string) float64 {
	ref := reference(rs, name, x.v.wrapped)
	if ref == nil || x.err != nil {
		return 0
	}
	return ratio(summarise(x.samples), summarise(ref.samples))
}

var titles = map[string]string{
	"run":  "RUNTIME run --bundle B ID of /bin/true (create+start+wait+delete)",
	"exec": "RUNTIME exec ID /bin/true into a running `sleep 1000` container",
}

func (r *report) print(w io.Writer) {
	for _, rs := range r.results {
		if len(rs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %s\n%d runs each, interleaved round-robin; ratios compare medians, wrapped with wrapped, bare with bare\n",
			rs[0].bench, titles[rs[0].bench], r.opts.n)
		fmt.Fprintf(w, "%-22s %9s %9s %9s %8s %8s %10s\n", "runtime", "median", "min", "max", "vs crun", "vs runc", "peak RSS")
		for _, x := range rs {
			if x.err != nil {
				fmt.Fprintf(w, "%-22s failed: %s\n", x.v.label(), firstLine(x.err.Error()))
				continue
			}
			s := summarise(x.samples)
			fmt.Fprintf(w, "%-22s %9s %9s %9s %8s %8s %7.1f MB\n", x.v.label(), ms(s.Median), ms(s.Min), ms(s.Max),
				times(ratioTo(rs, x, "crun")), times(ratioTo(rs, x, "runc")), float64(s.RSSMedian)/1024)
		}
	}
	fmt.Fprintln(w, "\nwrapped = in `unshare -m --propagation private` with /sys/fs/cgroup/unified unmounted (crun needs it here);")
	fmt.Fprintln(w, "peak RSS = median of the runtime process's maxrss, its reaped children included.")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func times(f float64) string {
	if f == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", f)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type jsonResult struct {
	Bench      string    `json:"bench"`
	Runtime    string    `json:"runtime"`
	Wrapped    bool      `json:"wrapped"`
	Runs       int       `json:"runs"`
	MedianMS   float64   `json:"median_ms"`
	MinMS      float64   `json:"min_ms"`
	MaxMS      float64   `json:"max_ms"`
	MeanMS     float64   `json:"mean_ms"`
	PeakRSSKiB int64     `json:"peak_rss_kib_median"`
	MaxRSSKiB  int64     `json:"peak_rss_kib_max"`
	VsCrun     float64   `json:"ratio_vs_crun,omitempty"`
	VsRunc     float64   `json:"ratio_vs_runc,omitempty"`
	SamplesMS  []float64 `json:"samples_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
}

type jsonRuntime struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

type jsonReport struct {
	Date     string                 `json:"date"`
	Kernel   string                 `json:"kernel"`
	Runs     int                    `json:"runs"`
	Warmup   int                    `json:"warmup"`
	Wrapper  string                 `json:"wrapper"`
	Runtimes map[string]jsonRuntime `json:"runtimes"`
	Results  []jsonResult           `json:"results"`
}

func (r *report) writeJSON(path string) error {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	out := jsonReport{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Kernel:   strings.TrimSpace(string(kernel)),
		Runs:     r.opts.n,
		Warmup:   r.opts.warmup,
		Wrapper:  "unshare -m --propagation private sh -c '" + unifiedHide + "' RUNTIME ...",
		Runtimes: map[string]jsonRuntime{},
	}
	for _, v := range r.variants {
		ver, _ := exec.Command(v.bin, "--version").Output()
		out.Runtimes[v.runtime] = jsonRuntime{Path: v.bin, Version: firstLine(strings.TrimSpace(string(ver)))}
	}
	for _, rs := range r.results {
		for _, x := range rs {
			out.Results = append(out.Results, toJSON(rs, x))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // The wrapper's shell line holds 2>.
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func toJSON(rs []*result, x *result) jsonResult {
	j := jsonResult{Bench: x.bench, Runtime: x.v.runtime, Wrapped: x.v.wrapped, Runs: len(x.samples)}
	if x.err != nil {
		j.Error = x.err.Error()
		return j
	}
	s := summarise(x.samples)
	j.MedianMS, j.MinMS, j.MaxMS, j.MeanMS = msf(s.Median), msf(s.Min), msf(s.Max), msf(s.Mean)
	j.PeakRSSKiB, j.MaxRSSKiB = s.RSSMedian, s.RSSMax
	j.VsCrun, j.VsRunc = round3(ratioTo(rs, x, "crun")), round3(ratioTo(rs, x, "runc"))
	for _, smp := range x.samples {
		j.SamplesMS = append(j.SamplesMS, msf(smp.elapsed))
	}
	return j
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
