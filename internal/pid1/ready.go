package pid1

import "golang.org/x/sys/unix"

// readyFD is where pier's monitor hands PID 1 the write end of a pipe whose
// reader (pierd's start) waits for EOF: once pier-init catches SIGTERM and
// its child has exec'd, a stop can no longer be lost, and the start
// returns. The end of the pipe is the event; nobody polls /proc for it.
const readyFD = 3

// readyPipe returns readyFD, made close-on-exec so that the child does not
// inherit it, when it is the write end of a pipe; else -1 (pier-init run
// by hand, or by another engine: fd 3 is then left alone).
func readyPipe() int {
	var st unix.Stat_t
	if unix.Fstat(readyFD, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return -1
	}
	fl, err := unix.FcntlInt(readyFD, unix.F_GETFL, 0)
	if err != nil || fl&unix.O_ACCMODE != unix.O_WRONLY {
		return -1
	}
	unix.CloseOnExec(readyFD)
	return readyFD
}

// signalReady closes the pipe (fd < 0: none).
func signalReady(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}
