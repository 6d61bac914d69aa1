//go:build linux

// Package pid1 is pier-init: the process that runs as PID 1 in a container,
// starts the user's command as its only child, and does the three jobs the
// kernel leaves to PID 1.
//
//   - Signals. The kernel delivers to PID 1 only the signals it installed a
//     handler for, so a plain program as PID 1 ignores SIGTERM. pier-init
//     catches every catchable signal and forwards it to the child, or to the
//     child's process group with Config.Group. SIGKILL and SIGSTOP cannot be
//     caught by anyone: sent to a PID 1 from inside its namespace they are
//     dropped, and from the parent namespace they act on pier-init itself (a
//     SIGKILLed PID 1 takes the whole namespace down with it). SIGURG is not
//     forwarded: the Go runtime sends it to its own threads to preempt
//     goroutines, so a forwarded SIGURG could be one nobody sent.
//   - Zombies. Orphans are re-parented to PID 1 (or, when pier-init is not
//     PID 1, to it as a child subreaper, PR_SET_CHILD_SUBREAPER). After every
//     SIGCHLD it calls waitpid(-1, WNOHANG) until nothing is left to collect.
//   - Exit status. pier-init exits with the child's code, or 128+N when the
//     child died of signal N; a command that cannot be found exits 127 and
//     one that cannot be executed 126, as in a shell. When the child has
//     exited, the processes left behind get SIGTERM (and SIGCONT, so stopped
//     ones see it) and, after Config.Grace, SIGKILL.
//
// # Receiving signals: rt_sigtimedwait, with os/signal as the back door
//
// tini blocks every signal and reads them from a signalfd, so a signal costs
// one wake-up of one thread. pier-init does the same on its main thread with
// rt_sigtimedwait (see waiter), but in Go that alone is not sound: the
// runtime unblocks SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT, SIGCHLD and a
// few more on every thread it starts, so whenever the main thread is not
// inside rt_sigtimedwait (while it forwards or reaps) the kernel may hand a
// signal to another thread. There the runtime's handler would kill the
// process (SIGTERM) or drop it (SIGCHLD). So pier-init also registers every
// signal with os/signal, and a goroutine sends whatever arrives that way to
// the main thread with tgkill, where it waits, blocked, for the next
// rt_sigtimedwait. Nothing is lost on either path. Standard signals
// coalesce in the kernel and in the runtime, which is why every SIGCHLD
// drains all exited children rather than one; repeated realtime signals
// that take the back door coalesce too (the runtime keeps one pending bit
// per signal, not a queue).
//
// Signals are caught before the child is started, not while it starts: a
// signal the child sends pier-init as it starts would otherwise meet the
// runtime's default (see catch). Catching is most of pier-init's start-up,
// because os/signal enables each of the 59 signals with a round trip to its
// signal-mask thread; catch makes those round trips from an unlocked
// goroutine, which halves the thread switches.
//
// The main goroutine must stay on the main thread (LockOSThread in
// cmd/pier-init's init): the signal mask and the tgkill target are per
// thread, and an unlocked goroutine does migrate (a build without the lock
// lost a SIGCHLD and hung in bench/init).
//
// # Terminals
//
// When stdin is a terminal the child is put in its own process group, which
// becomes the terminal's foreground group (tcsetpgrp) when the terminal is
// pier-init's controlling terminal — the usual case, since the OCI runtime
// makes it so — and otherwise gets a new session with the terminal as its
// controlling one (setsid, TIOCSCTTY). Either way Ctrl-C, Ctrl-Z and job
// control reach the child straight from the terminal, as in a shell.
//
// # Memory
//
// pier-init sits idle in every container, so it is kept small: GOMAXPROCS 1
// from an init function, the collector off (it allocates almost nothing
// after start-up), no fmt (the command line is parsed by hand rather than
// with package flag), nothing allocated while idle. What remains is the Go
// runtime's floor: about 0.7 MB of anonymous memory and 8 threads (three of
// them os/signal's) against 0.05-0.1 MB and one thread for tini, dumb-init
// and catatonit. The binary's 1.7 MB of pages count in its RSS but are page
// cache shared by every container that bind-mounts the same file; the
// anonymous part (Private_Dirty) is the cost of each extra container.
// bench/init measures it.
package pid1
