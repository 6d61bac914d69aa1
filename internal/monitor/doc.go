//go:build linux

// Package monitor is pier-monitor: one small process per container, outside
// it, that owns the container's stdio (pipes or a terminal), serves
// attaches to it, writes its output to the json-file log, and records how
// the container ended, so that pierd can be killed (even with SIGKILL) and
// restarted without harm. It plays the part of Podman's conmon.
//
// # Life of a monitor
//
//	pierd ── Start(bin, configPath, cfg) ──▶ pier-monitor CONFIG.json
//	                                          (new session, GOMAXPROCS=1)
//	  prctl(PR_SET_CHILD_SUBREAPER); setsid; write MonitorPidFile
//	  listen on AttachSocket (if set)
//	  pipes for stdout/stderr (or a console socket with Tty) ──▶
//	      RUNTIME create --bundle B --pid-file P [--console-socket S] ID
//	      (the runtime hands its stdio to the container; when it exits, the
//	       container's init is re-parented to the monitor, its subreaper)
//	  wait for AttachWait clients; read oom_kill counters; RUNTIME start ID
//	  report {"pid":N} (or {"error":...}) on SyncFD ──▶ Start returns
//	  copy pipes → logfile.Stream → json log       (two goroutines)
//	  waitid(WNOWAIT) + wait4 until the init is reaped (main goroutine)
//	  after 1 s, if alive: execve into the watch image (same pid, below)
//	  read oom_kill again; drain the pipes (at most DrainGrace)
//	  RUNTIME delete -f ID; WriteStatus (temp+rename); remove pid file
//
// # Parked monitors
//
// pierd starts monitors through a Pool (pool.go, park.go): when a start
// ends with no other under way, it parks the next monitor, `pier-monitor
// --park`, started the same way (own session, GOMAXPROCS=1, pierd's
// cgroups) but with no container. It warms up (runtime.WarmUp: the spec's
// and state record's JSON codecs, the seccomp tables, the cgroup layout)
// and blocks on a pipe whose write end only pierd holds. The next start
// writes the config file as above, sends its path on that pipe and reads
// the Started line as from a fresh monitor, which the parked one becomes:
// Run(cfg, [exe, CONFIG.json]), handover included. EOF with no path (pierd
// closed the pool at its stop, or died, even by SIGKILL) ends it. A start
// that finds none parked (a burst) spawns a fresh monitor.
//
// Measured (`run --rm --network none busybox true`, two pierds, ABBA, 30
// runs each, PIER_TRACE spans, load average 16 on 2 CPUs): pierd's spawn
// to the monitor's report 89.6 -> 47.8 ms, of which the monitor's start
// to the runtime's create 15.3 -> 0.85 and the config's read and
// validation 16.0 -> 1.9; the whole run 250 -> 184 ms. Quiet, the parked
// monitor saves its Go start (~3 ms) and the first decode and compile
// (~2 ms: 1.86 -> 0.58 ms for the spec, 1.52 -> 0.85 for the filter).
// It costs one idle process per pierd (Private_Dirty 1.3 MB, Rss 5.9).
//
// # The watch image
//
// With RuntimeExe the launch runs pier-runtime's create in this process,
// and its peak heap (the spec, the plan, encoding/json's caches) would
// stay dirty for the container's life: a collection frees the objects,
// not the spans they were spread over. So once the container has run for
// a second (HandoverEnv changes it), the monitor re-executes itself, same
// pid, still the container's parent and subreaper, into its watch image:
// pier-monitor-watch beside it (this package built with -tags
// monitorwatch, without pier-runtime's library), else its own binary. The
// launch image holds the reaper (it reaps only under a lock, and waits
// with WNOWAIT, so an exit in the window stays a zombie of this pid for
// the next image), stops its copiers between reads and its accept loop,
// and passes the pipes, stdin, the attach listener and each stream's
// pending partial line in a memfd (handover.go). A container with a
// client attached keeps the launch image until the client leaves
// (connections are not handed over; the try repeats with a back-off), and
// one that ends within the second never pays the second Go start. The
// watch binary cannot delete in-process: at the end it re-executes the
// full monitor as `--finish` (finish.go), which deletes and writes the
// Status.
//
// Because the monitor runs in its own session and pierd does not wait for
// it, pierd's death changes nothing for it. A restarted pierd re-adopts a
// container from its directory: MonitorPidFile present and the process
// alive means the monitor still runs (wait for StatusFile to appear);
// otherwise ReadStatus gives the end. The status is written after the log is
// drained, so whoever sees it reads every line.
//
// Exit code: the init's code, or 128+N if signal N killed it. OOMKilled is
// exact, never guessed from 137: the "oom_kill" counters of Config.Cgroups
// (memory.events on v2, memory.oom_control on v1) read after create and
// after the exit; it is true when they grew.
//
// The runtime is any runc-compatible binary (pier-runtime, runc, crun):
// Config.Runtime and RuntimeRoot. With RuntimeLog set, the runtime's error
// for a failed create or start is read from its --log file (JSON), since its
// stderr is the container's.
//
// # Terminal, stdin and the attach socket
//
// With Config.Tty the runtime's create gets --console-socket (a socket in
// a fresh temp dir, for a short path); the runtime sends the pty master
// and the slave is the container's stdio. The monitor copies the master to
// the log (as stdout, like Docker's json-file) and to attached clients, and
// clients' input to it. With OpenStdin and no tty, the container's stdin is
// a pipe whose write end the monitor holds; else it is /dev/null. Either
// way it is the monitor, not pierd, that holds them: a pierd killed with
// SIGKILL loses its attached clients, never the container's terminal.
//
// Config.AttachSocket is a unix socket (mode 0600, in the container's dir)
// on which clients (pierd) attach. The protocol is frames both ways:
//
//	frame := type (1 byte) | length (4 bytes, big-endian) | payload (≤ 32 KiB)
//
//	client → monitor
//	  3 hello   first and once: one byte of flags, 1 stdin | 2 stdout | 4 stderr
//	            (0: a connection that only resizes)
//	  0 stdin   bytes for the container's stdin (the pty master with a tty)
//	  5 eof     the client's stdin ended
//	  4 resize  rows, cols: two big-endian uint16 (TIOCSWINSZ on the master)
//	monitor → client
//	  1 stdout  output (all of it with a tty)
//	  2 stderr  output
//	  the connection's close: the output has ended (or the client was dropped)
//
// StdinOnce without a tty: the first stdin client's eof or departure closes
// the container's stdin, as Docker's does (a terminal is never closed: its
// user types ^D). Output never waits for a client: each has a queue of 64
// frames, and one that falls further behind is disconnected at once; the
// log, written before the fan-out, stays complete. Config.AttachWait holds
// the runtime's start until that many clients have said hello (at most
// AttachWaitTimeout), so that `docker run`, which attaches before it
// starts, sees the first bytes. pierd's exec with a tty uses Console and
// Resize from here too, but keeps that master itself.
//
// # Cost, measured (bench/monitor, 10 idle containers, median per monitor)
//
//	monitor                   Rss kB   Pss kB  Private_Dirty kB  threads
//	pier-monitor (shipped)      3216     1098               864        3
//	Go defaults                 3340     1226               992        4
//	GOMAXPROCS=1 GOGC=off       3552     1438              1204        4
//	conmon 2.1.6 (C)            2008      473               332        1
//
// Rss includes the static binary's pages (2.4 MB file, ~2.3 MB mapped);
// they are page cache shared by every monitor, so the cost of each extra
// container is Private_Dirty: 0.86 MB, under the 1 MB goal, against conmon's
// 0.33 MB. Counted as Rss the goal is missed: 3.2 MB against conmon's
// 2.0 MB. The floor is the Go runtime's (heap arena, its metadata, one
// stack per thread): a Go program doing nothing idles at ~0.7 MB private.
// What helped: one P from the environment (GOMAXPROCS=1, set by Start: one
// thread and one mcache fewer, -0.13 MB; runtime.GOMAXPROCS(1) in main comes
// too late to save the thread), a collection plus debug.FreeOSMemory after
// the launch, whose garbage would otherwise stay dirty for the container's
// life, 4 KiB copy buffers, and no os/signal (its goroutine and thread). What
// did not: turning the collector off under a memory limit let the launch's
// garbage grow the heap and its metadata (+0.34 MB). A C monitor would save
// ~0.5 MB per container; the Go one shares pier's logfile code and tests,
// and that is the choice made here, knowingly.
//
// The attach socket (net's poller and one goroutine in Accept) left the
// idle cost where it was: Private_Dirty 904 kB against 900 kB without it
// (7 monitors, medians); Rss grew 0.3 MB, the larger binary's shared text
// (2.7 MB file against 2.4 MB).
//
// The in-process runtime raised it to 1.9 MB (the launch's heap). The
// watch image brings it back (bench/engine's idle containers, 20 monitors
// each, one interleaved run at load 22): 1896 kB without the handover,
// 908 kB re-executing the full binary, 708 kB in pier-monitor-watch. Of
// the full binary's 908 kB, ~0.2 MB is its packages' initialisation
// (then cilium/ebpf, encoding/xml, debug/dwarf, regexp tables, through
// pier-runtime's library; cilium/ebpf and what it brought are gone since
// the device filter calls bpf(2) itself), which a process pays whatever
// it runs: hence the second binary. The watch image never collects (a first collection
// costs ~0.2-0.4 MB of the collector's own buffers, and the runtime's
// two-minute forced collection starts only after a first one): its copy
// path allocates nothing, so its heap does not grow (708 kB after 150 s).
package monitor
