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
// # Why signal.Notify and not a signalfd
//
// tini blocks every signal and reads them from a signalfd. In Go that is not
// sound: the runtime unblocks SIGTERM, SIGINT, SIGHUP, SIGQUIT and the fault
// signals on every thread it starts (they are not "blockable" for it), so a
// signal sent to the process could land on a thread with it unblocked and
// reach the runtime's handler instead of the signalfd. pier-init therefore
// uses os/signal with a deep buffer and one loop that owns everything: a
// signal is never lost between the handler and the loop because the runtime
// keeps a pending bit per signal until the loop's channel takes it. Standard
// signals coalesce in the kernel anyway, and so does SIGCHLD, which is why
// every SIGCHLD drains all exited children rather than one. The cost, which
// a signalfd would not have: repeated realtime signals also coalesce (the
// runtime keeps one pending bit per signal, not a queue), so N quick
// SIGRTMIN+k may reach the child fewer than N times.
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
// pier-init sits idle in every container, so it is kept small: no goroutine
// of its own (os/signal runs one), GOMAXPROCS 1, no fmt (the command line is
// parsed by hand rather than with package flag), nothing allocated while
// idle. What remains is the Go runtime's floor: about 0.6-0.9 MB of
// anonymous memory and 5-7 threads against 0.05-0.1 MB and one thread for
// tini, dumb-init and catatonit; the binary's 1.6 MB of pages count in its
// RSS but are page cache shared by every container that bind-mounts the
// same file. bench/init measures it.
package pid1
