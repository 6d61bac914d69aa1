package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// stats summarises samples of one measurement.
type stats struct {
	Median time.Duration `json:"median_ns"`
	Min    time.Duration `json:"min_ns"`
	Max    time.Duration `json:"max_ns"`
}

func summarise(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{Median: med, Min: s[0], Max: s[len(s)-1]}
}

type stepResult struct {
	Step string `json:"step"`
	stats
}

type pullResult struct {
	Name    string          `json:"name"`
	Samples []time.Duration `json:"samples_ns"` // whole pulls, in run order
	stats
	Steps []stepResult `json:"steps,omitempty"`
}

func summarisePull(c contender, runs [][]time.Duration) pullResult {
	r := pullResult{Name: c.name}
	perStep := make([][]time.Duration, len(c.steps))
	for _, steps := range runs {
		var total time.Duration
		for i, d := range steps {
			total += d
			perStep[i] = append(perStep[i], d)
		}
		r.Samples = append(r.Samples, total)
	}
	r.stats = summarise(r.Samples)
	if len(c.steps) > 1 {
		for i, name := range c.steps {
			r.Steps = append(r.Steps, stepResult{Step: name, stats: summarise(perStep[i])})
		}
	}
	return r
}

type rootfsResult struct {
	Image string `json:"image"`
	Bytes int64  `json:"compressed_bytes"`
	stats
}

type results struct {
	Image             string         `json:"image"`
	Digest            string         `json:"digest"`
	Layers            int            `json:"layers"`
	CompressedBytes   int64          `json:"compressed_bytes"`
	UncompressedBytes int64          `json:"uncompressed_bytes"`
	Runs              int            `json:"runs"`
	Pulls             []pullResult   `json:"pulls"`
	Rootfs            []rootfsResult `json:"rootfs"`
	Notes             []string       `json:"notes,omitempty"`
}

func (r *results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "pull + unpack of %s: %d layers, %.0f MB compressed, %.0f MB unpacked\n",
		r.Image, r.Layers, float64(r.CompressedBytes)/1e6, float64(r.UncompressedBytes)/1e6)
	fmt.Fprintf(w, "%d pulls each, interleaved round-robin, each into an empty store; ratios compare medians\n", r.Runs)
	var pier stats
	for _, p := range r.Pulls {
		if p.Name == "pier" {
			pier = p.stats
		}
	}
	fmt.Fprintf(w, "%-22s %11s %11s %11s %9s %9s\n", "contender", "median", "min", "max", "MB/s", "vs pier")
	for _, p := range r.Pulls {
		vs := "-"
		if pier.Median > 0 {
			vs = fmt.Sprintf("%.2fx", float64(p.Median)/float64(pier.Median))
		}
		mbs := float64(r.CompressedBytes) / 1e6 / p.Median.Seconds()
		fmt.Fprintf(w, "%-22s %11s %11s %11s %9.0f %9s\n", p.Name, ms(p.Median), ms(p.Min), ms(p.Max), mbs, vs)
		for _, s := range p.Steps {
			fmt.Fprintf(w, "  %-20s %11s %11s %11s\n", s.Step, ms(s.Median), ms(s.Min), ms(s.Max))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "container rootfs: Prepare+Mount+Unmount+Remove (one overlay mount of the layer chain)")
	fmt.Fprintf(w, "%-22s %11s %11s %11s %11s\n", "image", "size", "median", "min", "max")
	for _, x := range r.Rootfs {
		fmt.Fprintf(w, "%-22s %8.1f MB %11s %11s %11s\n", x.Image, float64(x.Bytes)/1e6, ms(x.Median), ms(x.Min), ms(x.Max))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "pier = pull (download, verify, unpack each layer into its snapshot, fsync/syncfs) + Prepare + overlay Mount;")
	fmt.Fprintln(w, "skopeo+umoci = skopeo copy to an OCI layout, then umoci unpack into a bundle;")
	fmt.Fprintln(w, "containerd = ctr image pull --plain-http (fetch + unpack into the overlayfs snapshotter) on a private containerd.")
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "notes: "+strings.Join(r.Notes, "; "))
	}
}
