package containerinit

import (
	"errors"
	"fmt"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
)

var rlimitIDs = sys.RlimitIDs

// checkRlimits finds, at create time, the limits applyRlimits would fail
// to set: raising a hard limit needs CAP_SYS_RESOURCE, which a host may
// lack (like these VMs); the error says so instead of a bare EPERM later.
func checkRlimits(rls []specs.POSIXRlimit) error {
	if hasCap(unix.CAP_SYS_RESOURCE) {
		return nil
	}
	for i, rl := range rls {
		id, ok := rlimitIDs[rl.Type]
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, rl.Type)
		}
		var cur unix.Rlimit
		if err := unix.Prlimit(0, id, nil, &cur); err != nil {
			return fmt.Errorf("process.rlimits[%d] %s: getrlimit: %w", i, rl.Type, err)
		}
		if rl.Hard > cur.Max {
			return fmt.Errorf("process.rlimits[%d] %s: cannot raise the hard limit from %d to %d without CAP_SYS_RESOURCE: %w",
				i, rl.Type, cur.Max, rl.Hard, unix.EPERM)
		}
	}
	return nil
}

func hasCap(c int) bool { return sys.HasCap(c) }

// applyRlimits sets the process's limits, just before execve: a tight
// RLIMIT_AS or RLIMIT_DATA applied earlier would starve this Go process.
func applyRlimits(rls []specs.POSIXRlimit) error {
	for i, rl := range rls {
		id, ok := rlimitIDs[rl.Type]
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, rl.Type)
		}
		// syscall.Setrlimit, not a raw prlimit: the Go runtime raised its
		// own soft RLIMIT_NOFILE at start-up and would put the old value
		// back at execve unless told, through this call, that the program
		// set it.
		want := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := syscall.Setrlimit(id, &want); err != nil {
			if errors.Is(err, unix.EPERM) {
				var cur unix.Rlimit
				_ = unix.Prlimit(0, id, nil, &cur)
				if rl.Hard > cur.Max {
					return fmt.Errorf("process.rlimits[%d] %s: cannot raise the hard limit from %d to %d without CAP_SYS_RESOURCE: %w",
						i, rl.Type, cur.Max, rl.Hard, err)
				}
			}
			return fmt.Errorf("process.rlimits[%d] %s: setrlimit soft %d hard %d: %w", i, rl.Type, rl.Soft, rl.Hard, err)
		}
	}
	return nil
}

var personalities = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000,
	specs.PerLinux32: 0x0008,
}

func setPersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	persona, ok := personalities[p.Domain]
	if !ok {
		return fmt.Errorf("linux.personality.domain: unknown domain %q", p.Domain)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, persona, 0, 0); errno != 0 {
		return fmt.Errorf("personality %s: %w", p.Domain, errno)
	}
	return nil
}
