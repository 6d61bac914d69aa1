// Command runtime times OCI runtimes side by side: `run` of /bin/true
// (create, start, wait and delete in one command) and `exec` of /bin/true
// into a running container, for pier-runtime, runc and crun in one process,
// interleaved round-robin so that all of them share the machine's noise.
//
// crun 1.8.1 refuses this machine's hybrid cgroup layout unless it runs in a
// private mount namespace with /sys/fs/cgroup/unified unmounted. That wrapper
// costs a few milliseconds, so every runtime is timed wrapped (the fair
// comparison) and pier-runtime and runc also bare.
//
//	go run ./bench/runtime -bundle DIR [-n 30] [-json FILE]
//
// DIR is an OCI bundle whose config runs /bin/true without a terminal
// (bench/runtime/run.sh makes one from busybox).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

type options struct {
	bundle   string
	n        int
	warmup   int
	jsonPath string
	pier     string
	runc     string
	crun     string
	goInit   bool
}

func main() {
	var o options
	flag.StringVar(&o.bundle, "bundle", "", "OCI bundle running /bin/true (required)")
	flag.IntVar(&o.n, "n", 30, "timed runs per runtime and benchmark")
	flag.IntVar(&o.warmup, "warmup", 2, "untimed runs per runtime first")
	flag.StringVar(&o.jsonPath, "json", "", "write the results as JSON to this file")
	flag.StringVar(&o.pier, "pier", "bin/pier-runtime", "pier-runtime binary (\"\" skips it)")
	flag.StringVar(&o.runc, "runc", "runc", "runc binary (\"\" skips it)")
	flag.StringVar(&o.crun, "crun", "crun", "crun binary (\"\" skips it)")
	flag.BoolVar(&o.goInit, "go-init", false, "also time pier-runtime forced onto its Go init (PIER_GO_INIT=1), wrapped")
	flag.Parse()
	if o.bundle == "" || o.n < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "runtime bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "pier-bench-runtime-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	variants, err := makeVariants(o, tmp)
	if err != nil {
		return err
	}
	// Containers are deleted even when a benchmark fails or is interrupted.
	defer func() {
		for _, v := range variants {
			v.deleteAll()
		}
	}()
	bundle, err := filepath.Abs(o.bundle)
	if err != nil {
		return err
	}
	sleeper, err := sleepBundle(bundle, filepath.Join(tmp, "sleep-bundle"))
	if err != nil {
		return err
	}
	rep := newReport(o, variants)
	rep.add(benchRun(ctx, variants, bundle, o.warmup, o.n))
	rep.add(benchExec(ctx, variants, sleeper, o.warmup, o.n))
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		return rep.writeJSON(o.jsonPath)
	}
	return nil
}

// makeVariants lists what is timed: each installed runtime wrapped, and
// pier-runtime and runc bare as well. Each gets its own --root state dir.
func makeVariants(o options, tmp string) ([]*variant, error) {
	var vs []*variant
	add := func(name, bin string, wrapped bool) error {
		if bin == "" {
			return nil
		}
		path, err := exec.LookPath(bin)
		if err != nil {
			if wrapped {
				fmt.Fprintf(os.Stderr, "# %s: %s not found, skipped\n", name, bin)
			}
			return nil
		}
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		v := &variant{runtime: name, bin: path, wrapped: wrapped}
		v.root = filepath.Join(tmp, "state-"+v.slug())
		vs = append(vs, v)
		return os.MkdirAll(v.root, 0o700)
	}
	for _, r := range []struct {
		name, bin string
		bare      bool
	}{{"pier-runtime", o.pier, true}, {"runc", o.runc, true}, {"crun", o.crun, false}} {
		if err := add(r.name, r.bin, true); err != nil {
			return nil, err
		}
		if r.bare {
			if err := add(r.name, r.bin, false); err != nil {
				return nil, err
			}
		}
	}
	if o.goInit && o.pier != "" && len(vs) > 0 && vs[0].runtime == "pier-runtime" {
		v := &variant{runtime: "pier-runtime-goinit", bin: vs[0].bin, wrapped: true, env: []string{"PIER_GO_INIT=1"}}
		v.root = filepath.Join(tmp, "state-"+v.slug())
		vs = append(vs, v)
		if err := os.MkdirAll(v.root, 0o700); err != nil {
			return nil, err
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no runtime found")
	}
	return vs, nil
}
