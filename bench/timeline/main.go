// Command timeline runs a command N times and turns the marks written
// during each run into a per-phase table: where every millisecond of a
// container start goes.
//
// The marks are lines "<CLOCK_MONOTONIC ns> <pid> <who> <phase>" in one
// file: pier's own (PIER_TRACE, internal/trace and nsenter.c: pierd,
// pier-monitor, pier-runtime, its preamble and the container's init), or,
// with -bpftrace, a bpftrace script's events (fork, execve, clone,
// unshare, setns, mount, pivot_root, capset, seccomp, exit) of the command's
// process tree, for runtimes that write none (crun, runc).
//
// usage: timeline [-n RUNS] [-trace FILE] [-bpftrace SCRIPT] [-md] -- CMD ARGS...
// "{}" in ARGS becomes a fresh id per run. The command gets PIER_TRACE=FILE.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 10, "runs (after one warm-up)")
	tracePath := flag.String("trace", "", "trace file (default: a temp file); a pierd that marks must have PIER_TRACE set to it")
	bt := flag.String("bpftrace", "", "bpftrace script tracing the command's process tree (its $1 is our pid)")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: timeline [-n RUNS] [-trace FILE] [-bpftrace SCRIPT] -- CMD ARGS...")
		os.Exit(2)
	}
	if *tracePath == "" {
		*tracePath = filepath.Join(os.TempDir(), fmt.Sprintf("pier-timeline-%d", os.Getpid()))
		defer os.Remove(*tracePath)
	}
	if *bt != "" {
		stop, err := startBpftrace(*bt, *tracePath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "timeline:", err)
			os.Exit(1)
		}
		defer stop()
	}
	var runs [][]mark
	for i := 0; i <= *n; i++ {
		marks, err := once(args, *tracePath, i, *bt != "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "timeline:", err)
			os.Exit(1)
		}
		if i > 0 { // the first run warms caches
			runs = append(runs, marks)
		}
	}
	fmt.Print(table(runs))
}

// tempName matches the random part of a temporary name (crun's
// /tmp/crun.XXXXXX, Go's os.MkdirTemp).
var tempName = regexp.MustCompile(`([./-])[A-Za-z0-9]{6,10}$`)

// mark is one line of the trace.
type mark struct {
	ns    int64
	pid   int
	who   string
	phase string
}

// once runs the command once and returns the run's marks in time order,
// framed by our own.
func once(args []string, path string, i int, bpf bool) ([]mark, error) {
	id := fmt.Sprintf("tl%d-%d", os.Getpid(), i)
	argv := make([]string, len(args))
	for j, a := range args {
		argv[j] = strings.ReplaceAll(a, "{}", id)
	}
	if err := os.Truncate(path, 0); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PIER_TRACE="+path)
	cmd.Stderr = os.Stderr
	t0 := now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	t1 := now()
	if bpf {
		time.Sleep(300 * time.Millisecond) // bpftrace prints asynchronously
	}
	marks, err := read(path)
	if err != nil {
		return nil, err
	}
	var in []mark
	for _, m := range marks {
		if m.ns >= t0 && m.ns <= t1+int64(50*time.Millisecond) {
			// The same phase in every run: no run id, no temp name.
			m.phase = tempName.ReplaceAllString(strings.ReplaceAll(m.phase, id, "ID"), "$1*")
			in = append(in, m)
		}
	}
	in = append(in, mark{ns: t0, who: "bench", phase: "fork+exec " + filepath.Base(argv[0])}, mark{ns: t1, who: "bench", phase: "command reaped"})
	sort.SliceStable(in, func(a, b int) bool { return in[a].ns < in[b].ns })
	return in, nil
}

func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func read(path string) ([]mark, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mark
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.SplitN(sc.Text(), " ", 4)
		if len(fs) != 4 {
			continue
		}
		ns, err1 := strconv.ParseInt(fs[0], 10, 64)
		pid, err2 := strconv.Atoi(fs[1])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, mark{ns: ns, pid: pid, who: fs[2], phase: fs[3]})
	}
	return out, sc.Err()
}

// startBpftrace runs script with our pid as $1, its output appended to
// path, and returns once it has attached its probes.
func startBpftrace(script, path string) (func(), error) {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// tracefs is mounted in a private mount namespace: the host's mounts
	// stay as they are. unshare and sh exec, so cmd's pid is bpftrace's.
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec bpftrace -q "$@"`, "sh",
		script, strconv.Itoa(os.Getpid()))
	cmd.Stdout = out
	r, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bpftrace: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if !strings.Contains(sc.Text(), "RLIMIT_MEMLOCK") { // harmless: BPF memory is memcg-accounted
				fmt.Fprintln(os.Stderr, "bpftrace:", sc.Text())
			}
		}
	}()
	// bpftrace writes its BEGIN line once the probes are attached.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "bpftrace attached") {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("bpftrace did not attach in 30 s")
		}
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		out.Close()
	}, nil
}
