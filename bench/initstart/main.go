// Command initstart times pier-init's start-up, A/B (issue 16): each
// pier-init given runs COMMAND, interleaved round-robin with the others and
// with COMMAND alone (the floor), and for each run it measures
//
//   - ready: from fork to EOF on fd 3, the readiness pipe pier-init closes
//     once it catches every signal and its child has exec'd (what pierd's
//     `start: init ready` mark waits for);
//   - total: from fork to pier-init's exit.
//
// It prints medians and the load average. Run it on the host; for the
// engine's view see bench/timeline.
//
//	go run ./bench/initstart [-n 300] PIER_INIT... -- COMMAND [ARG...]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// warmup rounds are run and dropped: the first runs page the binaries in.
const warmup = 10

type result struct {
	name         string
	argv         []string
	ready, total []time.Duration
}

func main() {
	n := flag.Int("n", 300, "rounds")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: initstart [-n ROUNDS] PIER_INIT... -- COMMAND [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	inits, command, ok := split(flag.Args())
	if !ok {
		flag.Usage()
		os.Exit(2)
	}
	var rs []*result
	for _, in := range inits {
		rs = append(rs, &result{name: filepath.Base(in) + " (" + in + ")", argv: append([]string{in, "--"}, command...)})
	}
	rs = append(rs, &result{name: strings.Join(command, " ") + " alone", argv: command})

	load0 := loadavg()
	for round := 0; round < *n+warmup; round++ {
		for _, r := range rs {
			ready, total, err := once(r.argv)
			if err != nil {
				fmt.Fprintf(os.Stderr, "initstart: %s: %v\n", r.name, err)
				os.Exit(1)
			}
			if round >= warmup {
				r.ready = append(r.ready, ready)
				r.total = append(r.total, total)
			}
		}
	}
	fmt.Printf("medians of %d interleaved rounds, %s, load average %s -> %s\n",
		*n, time.Now().UTC().Format("2006-01-02 15:04"), load0, loadavg())
	fmt.Printf("%-60s %10s %10s\n", "", "ready ms", "total ms")
	for _, r := range rs {
		fmt.Printf("%-60s %10.2f %10.2f\n", r.name, ms(median(r.ready)), ms(median(r.total)))
	}
}

// split cuts args at "--" into the pier-inits and the command.
func split(args []string) (inits, command []string, ok bool) {
	i := slices.Index(args, "--")
	if i < 1 || i == len(args)-1 {
		return nil, nil, false
	}
	return args[:i], args[i+1:], true
}

// once runs argv with a pipe's write end as fd 3 and returns the time to
// the pipe's EOF and to the exit. A command that does not know fd 3 holds
// it until it exits: its ready is its total.
func once(argv []string) (ready, total time.Duration, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	start := time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, r)
	ready = time.Since(start)
	if err := cmd.Wait(); err != nil {
		return 0, 0, err
	}
	return ready, time.Since(start), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
