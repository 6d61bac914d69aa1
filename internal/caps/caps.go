package caps

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set is the five sets as bit masks (bit n is capability n).
type Set struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64

	last    int      // highest capability number of the running kernel
	ignored []string // names known to us but not to the kernel
	// Set by Apply: ambient names not both permitted and inheritable.
	unraised []string
}

// Ignored lists the capabilities that Parse dropped because the running
// kernel does not know them, each naming its set (runc warns about these;
// a runtime should too).
func (s *Set) Ignored() []string { return s.ignored }

// Parse validates every name of the five sets and returns them as masks.
// An unknown name is an error naming the set:
// `process.capabilities.bounding: unknown capability "CAP_FOO"`. A name we
// know but the running kernel does not (above cap_last_cap) is left out
// and reported by Ignored. A nil c is the empty set for all five.
func Parse(c *specs.LinuxCapabilities) (*Set, error) {
	last, err := LastCap()
	if err != nil {
		return nil, err
	}
	return parse(c, last)
}

// LastCap reads the highest capability number the kernel knows.
func LastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse cap_last_cap %q: %w", b, err)
	}
	return n, nil
}

func parse(c *specs.LinuxCapabilities, last int) (*Set, error) {
	s := &Set{last: last}
	if c == nil {
		return s, nil
	}
	sets := []struct {
		field string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &s.Bounding},
		{"effective", c.Effective, &s.Effective},
		{"permitted", c.Permitted, &s.Permitted},
		{"inheritable", c.Inheritable, &s.Inheritable},
		{"ambient", c.Ambient, &s.Ambient},
	}
	for _, set := range sets {
		for _, name := range set.names {
			n, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("process.capabilities.%s: unknown capability %q", set.field, name)
			}
			if n > last {
				s.ignored = append(s.ignored, fmt.Sprintf("process.capabilities.%s: %s is unknown to this kernel (cap_last_cap %d)", set.field, name, last))
				continue
			}
			*set.mask |= 1 << n
		}
	}
	return s, nil
}

// DropBounding removes from the calling thread's bounding set every
// capability not in s.Bounding. It needs CAP_SETPCAP: call it before
// switching to the container's user.
func (s *Set) DropBounding() error {
	for n := 0; n <= s.last; n++ {
		if s.Bounding&(1<<n) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_CAPBSET_DROP %s: %w", Names(1 << n)[0], err)
		}
	}
	return nil
}

// Apply sets the calling thread's effective, permitted and inheritable sets
// with capset(2) (version 3: two 32-bit words per set), then replaces its
// ambient set. Ambient capabilities must be in both permitted and
// inheritable, and survive an execve only for a non-root user.
func (s *Set) Apply() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		shift := 32 * i
		data[i].Effective = uint32(s.Effective >> shift)
		data[i].Permitted = uint32(s.Permitted >> shift)
		data[i].Inheritable = uint32(s.Inheritable >> shift)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		if extra := s.Effective &^ s.Permitted; extra != 0 {
			err = fmt.Errorf("%w (effective has %v, which permitted lacks)", err, Names(extra))
		}
		return fmt.Errorf("capset: %w", err)
	}
	return s.applyAmbient()
}

// Unraised lists the ambient capabilities Apply left out because they
// were not both permitted and inheritable.
func (s *Set) Unraised() []string { return s.unraised }

func (s *Set) applyAmbient() error {
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if errors.Is(err, unix.EINVAL) && s.Ambient == 0 {
		return nil // a kernel before 4.3 has no ambient set, and none is asked for
	}
	if err != nil {
		return fmt.Errorf("prctl PR_CAP_AMBIENT_CLEAR_ALL: %w", err)
	}
	// The kernel only lets a capability be ambient while it is both
	// permitted and inheritable. Configs made by `runc spec` list ambient
	// capabilities without the inheritable set; like runc, pier raises what
	// it can and reports the rest (Unraised) instead of failing.
	s.unraised = Names(s.Ambient &^ (s.Permitted & s.Inheritable))
	for _, name := range Names(s.Ambient & s.Permitted & s.Inheritable) {
		n := byName[name]
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("prctl PR_CAP_AMBIENT_RAISE %s: %w", name, err)
		}
	}
	return nil
}
