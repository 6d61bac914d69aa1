package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/sys"
)

// listenFDsStart is the first fd systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// ActivationListeners returns the sockets systemd passed to this process
// by socket activation (sd_listen_fds(3)), in order, or none when it was
// started otherwise. The LISTEN_* variables are unset either way, so that
// the processes pierd starts never take the fds for theirs; the fds are
// made close-on-exec for the same reason.
func ActivationListeners() ([]net.Listener, error) {
	n, names, err := activationFDs(os.Getenv, os.Getpid())
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if err != nil || n == 0 {
		return nil, err
	}
	ls := make([]net.Listener, 0, n)
	for i := range n {
		fd := listenFDsStart + i
		sys.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), names[i])
		// FileListener dups the fd; the original is ours to close.
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("activation socket fd %d (%s): %w", fd, names[i], err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// activationFDs reads the protocol's variables: how many fds were passed
// to pid, and their names (LISTEN_FDNAMES, else "LISTEN_FD_<fd>").
// Variables meant for another process (a parent that did not unset them)
// mean none.
func activationFDs(getenv func(string) string, pid int) (int, []string, error) {
	p := getenv("LISTEN_PID")
	if p == "" {
		return 0, nil, nil
	}
	if got, err := strconv.Atoi(p); err != nil || got != pid {
		return 0, nil, nil
	}
	n, err := strconv.Atoi(getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0, nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a count", getenv("LISTEN_FDS"))
	}
	names := make([]string, n)
	given := strings.Split(getenv("LISTEN_FDNAMES"), ":")
	for i := range names {
		names[i] = "LISTEN_FD_" + strconv.Itoa(listenFDsStart+i)
		if len(given) == n && given[i] != "" {
			names[i] = given[i]
		}
	}
	return n, names, nil
}
