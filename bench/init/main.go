// Command init compares container inits side by side: pier-init, tini,
// dumb-init and catatonit, each started as PID 1 of a new PID namespace
// (`unshare --pid --fork --mount-proc INIT sleep 1000`), so all run under
// the same conditions without any OCI runtime's noise. For each it measures
//
//   - idle memory of PID 1 with its `sleep` child running, 300 ms after the
//     child appeared, from /proc/PID/smaps_rollup: Rss (what `ps` shows),
//     Pss, and anonymous memory (heap, stacks, data: what each extra
//     container really costs, since the init's binary pages are page cache
//     shared between all containers that bind-mount the same file);
//   - signal-to-exit: from kill(PID 1, SIGTERM) to PID 1 having exited,
//     observed through a pidfd, which includes forwarding SIGTERM, the
//     child's death, reaping it and the init's own exit.
//
// Inits are interleaved round-robin, N rounds; the table gives medians and
// ratios to pier-init.
//
//	go run ./bench/init -pier-init PATH [-n 20] [-json FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// initCmd is one init under test and how it is told to run a command.
type initCmd struct {
	Name string   `json:"name"`
	Path string   `json:"path"`
	Args []string `json:"args"` // before the command
}

func main() {
	pierInit := flag.String("pier-init", "bin/pier-init", "pier-init binary")
	n := flag.Int("n", 20, "rounds")
	jsonOut := flag.String("json", "", "write results as JSON to this file")
	var variants variantFlag
	flag.Var(&variants, "variant", "NAME=PATH: also measure this pier-init build (repeatable), to compare designs in one run")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench/init: needs root (unshare --pid)")
		os.Exit(2)
	}
	inits := []initCmd{{Name: "pier-init", Path: *pierInit, Args: []string{"--"}}}
	inits = append(inits, variants...)
	for _, peer := range []initCmd{
		{Name: "tini", Args: []string{"--"}},
		{Name: "dumb-init"},
		{Name: "catatonit", Args: []string{"--"}},
	} {
		p, err := exec.LookPath(peer.Name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench/init: %s not installed, skipped\n", peer.Name)
			continue
		}
		peer.Path = p
		inits = append(inits, peer)
	}
	samples := make(map[string][]sample)
	for round := 0; round < *n; round++ {
		for _, in := range inits {
			s, err := measure(in)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench/init: %s: %v\n", in.Name, err)
				os.Exit(1)
			}
			samples[in.Name] = append(samples[in.Name], s)
		}
	}
	r := summarize(inits, samples, *n)
	printTable(os.Stdout, r)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, r); err != nil {
			fmt.Fprintf(os.Stderr, "bench/init: %v\n", err)
			os.Exit(1)
		}
	}
}

// variantFlag collects -variant NAME=PATH: other builds of pier-init,
// measured like it, interleaved with the rest.
type variantFlag []initCmd

func (v *variantFlag) String() string { return "" }

func (v *variantFlag) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH, got %q", s)
	}
	*v = append(*v, initCmd{Name: name, Path: path, Args: []string{"--"}})
	return nil
}

// binarySize is the init's file size; for the C inits their shared libraries
// are not counted.
func binarySize(path string) int64 {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func joinArgs(in initCmd) string {
	return strings.TrimSpace(in.Name + " " + strings.Join(in.Args, " ") + " sleep 1000")
}
