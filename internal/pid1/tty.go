package pid1

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ttyMode is how the child is attached to the terminal on stdin, if any.
type ttyMode int

const (
	// noTTY: stdin is not a terminal; the child gets its own process group
	// so that group mode can signal it without signalling pier-init.
	noTTY ttyMode = iota
	// foreground: the terminal is pier-init's controlling terminal; the
	// child's new process group becomes its foreground group.
	foreground
	// newSession: the terminal is not pier-init's; the child starts a
	// session and takes it as controlling terminal.
	newSession
)

// detectTTY decides the child's terminal mode from stdin.
func detectTTY() ttyMode {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return noTTY
	}
	// TIOCGSID succeeds only on the caller's controlling terminal.
	sid, err := unix.IoctlGetInt(0, unix.TIOCGSID)
	if err == nil {
		if own, err := unix.Getsid(0); err == nil && own == sid {
			return foreground
		}
	}
	return newSession
}

// procAttr is the child's set-up for mode. The child's process group id is
// always its pid, which group-mode forwarding relies on.
func procAttr(mode ttyMode) *syscall.SysProcAttr {
	switch mode {
	case foreground:
		// Go's child does TIOCSPGRP before unblocking signals, so the
		// background child is not stopped by SIGTTOU for it.
		return &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: 0}
	case newSession:
		return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}
