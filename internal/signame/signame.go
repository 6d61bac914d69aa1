package signame

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// byName are the standard signals, without their SIG prefix.
var byName = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS, "CHLD": syscall.SIGCHLD,
	"CONT": syscall.SIGCONT, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGIOT, "KILL": syscall.SIGKILL,
	"PIPE": syscall.SIGPIPE, "POLL": syscall.SIGIO, "PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP,
	"SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP, "TSTP": syscall.SIGTSTP,
	"TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU, "URG": syscall.SIGURG, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "VTALRM": syscall.SIGVTALRM, "WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU,
	"XFSZ": syscall.SIGXFSZ,
}

// rtmin is glibc's SIGRTMIN: the kernel's 32, less the two glibc keeps.
const rtmin = 34

// Parse reads a signal as a number (15), a name (TERM), with its prefix
// (SIGTERM) in any case (sigterm), or RTMIN+N.
func Parse(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %q: out of range 1-64", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := byName[name]; ok {
		return sig, nil
	}
	if rest, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && rtmin+n <= 64 {
			return syscall.Signal(rtmin + n), nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// Of returns the signals names (without SIG) name, for os/signal.Notify.
// An unknown name is a programming error: Of panics.
func Of(names ...string) []os.Signal {
	out := make([]os.Signal, 0, len(names))
	for _, n := range names {
		sig, ok := byName[n]
		if !ok {
			panic("signame: unknown signal " + n)
		}
		out = append(out, sig)
	}
	return out
}

// Name is sig's name without SIG ("TERM"), as the API's kill takes it;
// its number for a signal without a name.
func Name(sig os.Signal) string {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return sig.String()
	}
	best := ""
	for n, v := range byName {
		// IOT and POLL are aliases: the canonical name sorts first.
		if v == s && (best == "" || n < best) {
			best = n
		}
	}
	if best == "" {
		return strconv.Itoa(int(s))
	}
	return best
}
