package main

import (
	"fmt"
	"sort"
	"strings"
)

// row is one phase of the table: the step from the mark before it to
// its own mark, the same in every run (the k-th time who reached phase).
type row struct {
	key    string
	deltas []float64 // ms, one per run
	at     []float64 // ms since the run's start
}

// table prints, for each phase in the order of the runs, the median time
// since the previous mark and since the start, in milliseconds.
func table(runs [][]mark) string {
	rows := map[string]*row{}
	var order []*row
	var totals []float64
	for _, marks := range runs {
		if len(marks) == 0 {
			continue
		}
		seen := map[string]int{}
		start := marks[0].ns
		for i, m := range marks {
			label := m.who + ": " + m.phase
			seen[label]++
			key := label
			if seen[label] > 1 {
				key = fmt.Sprintf("%s (#%d)", label, seen[label])
			}
			r := rows[key]
			if r == nil {
				r = &row{key: key}
				rows[key] = r
				order = append(order, r)
			}
			d := 0.0
			if i > 0 {
				d = float64(m.ns-marks[i-1].ns) / 1e6
			}
			r.deltas = append(r.deltas, d)
			r.at = append(r.at, float64(m.ns-start)/1e6)
		}
		totals = append(totals, float64(marks[len(marks)-1].ns-start)/1e6)
	}
	sort.SliceStable(order, func(a, b int) bool { return median(order[a].at) < median(order[b].at) })
	var b strings.Builder
	fmt.Fprintf(&b, "| phase (process: step ending at this mark) | Δ ms (median) | at ms | runs |\n|---|---|---|---|\n")
	for _, r := range order {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %d |\n", r.key, median(r.deltas), median(r.at), len(r.deltas))
	}
	fmt.Fprintf(&b, "| **total** (median of %d runs) | | **%.2f** | |\n", len(totals), median(totals))
	return b.String()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
