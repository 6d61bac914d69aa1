package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// result is one benchmark for one variant.
type result struct {
	bench   string
	v       *variant
	samples []sample
	err     error // The first failure; the variant then leaves the rotation.
}

// roundRobin calls step for every live variant, warmup+n rounds, starting
// each round at the next variant so none always runs right after another.
// Samples of the warm-up rounds are dropped. A failing variant stops there.
func roundRobin(ctx context.Context, rs []*result, warmup, n int, step func(*result) (sample, error)) {
	for round := -warmup; round < n; round++ {
		for k := range rs {
			if ctx.Err() != nil {
				return
			}
			r := rs[(k+round+warmup)%len(rs)]
			if r.err != nil {
				continue
			}
			s, err := step(r)
			if err != nil {
				r.err = err
				fmt.Fprintf(os.Stderr, "# %s %s: %v\n", r.bench, r.v.label(), err)
				continue
			}
			if round >= 0 {
				r.samples = append(r.samples, s)
			}
		}
	}
}

func newResults(bench string, vs []*variant) []*result {
	rs := make([]*result, len(vs))
	for i, v := range vs {
		rs[i] = &result{bench: bench, v: v}
	}
	return rs
}

// benchRun times `RUNTIME run --bundle B ID`: create, start, wait for
// /bin/true and delete, as one command.
func benchRun(ctx context.Context, vs []*variant, bundle string, warmup, n int) []*result {
	rs := newResults("run", vs)
	roundRobin(ctx, rs, warmup, n, func(r *result) (sample, error) {
		id := r.v.newID()
		s, err := timed(r.v.command("run", "--bundle", bundle, id))
		// run removes the container itself; delete what a failure left.
		if _, statErr := os.Stat(filepath.Join(r.v.root, id)); statErr == nil {
			r.v.delete(id)
		}
		return s, err
	})
	return rs
}

// benchExec times `RUNTIME exec ID /bin/true` into one long-running
// `sleep 1000` container per variant, started with `run -d`.
func benchExec(ctx context.Context, vs []*variant, bundle string, warmup, n int) []*result {
	rs := newResults("exec", vs)
	ids := make(map[*result]string)
	for _, r := range rs {
		id := r.v.newID()
		if _, err := timed(r.v.command("run", "-d", "--bundle", bundle, id)); err != nil {
			r.err = fmt.Errorf("start sleeper: %w", err)
			fmt.Fprintf(os.Stderr, "# exec %s: %v\n", r.v.label(), r.err)
			continue
		}
		ids[r] = id
	}
	defer func() {
		for r, id := range ids {
			r.v.delete(id)
		}
	}()
	roundRobin(ctx, rs, warmup, n, func(r *result) (sample, error) {
		return timed(r.v.command("exec", ids[r], "/bin/true"))
	})
	return rs
}
