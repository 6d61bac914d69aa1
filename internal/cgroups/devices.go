package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Access bits, as the kernel's BPF_DEVCG_ACC_* values.
const (
	accMknod = 1
	accRead  = 2
	accWrite = 4
	accAll   = accMknod | accRead | accWrite
)

// Device types, as the kernel's BPF_DEVCG_DEV_* values; 0 is any.
const (
	devAny   = 0
	devBlock = 1
	devChar  = 2
)

// devRule is one normalised linux.resources.devices entry; -1 is a
// wildcard major or minor.
type devRule struct {
	allow        bool
	typ          int
	major, minor int64
	access       int
}

func newDevRule(r specs.LinuxDeviceCgroup) (devRule, error) {
	d := devRule{allow: r.Allow, major: -1, minor: -1}
	switch r.Type {
	case "", "a":
		d.typ = devAny
	case "b":
		d.typ = devBlock
	case "c":
		d.typ = devChar
	default:
		return d, fmt.Errorf("type %q is not a, b or c", r.Type)
	}
	if r.Major != nil {
		d.major = *r.Major
	}
	if r.Minor != nil {
		d.minor = *r.Minor
	}
	if d.major < -1 || d.minor < -1 || d.major > 0xffffffff || d.minor > 0xffffffff {
		return d, fmt.Errorf("device number %d:%d is out of range", d.major, d.minor)
	}
	if r.Access == "" {
		d.access = accAll
	}
	for _, c := range r.Access {
		switch c {
		case 'r':
			d.access |= accRead
		case 'w':
			d.access |= accWrite
		case 'm':
			d.access |= accMknod
		default:
			return d, fmt.Errorf("access %q has %q, not one of rwm", r.Access, c)
		}
	}
	return d, nil
}

func devRules(in []specs.LinuxDeviceCgroup) ([]devRule, error) {
	out := make([]devRule, 0, len(in))
	for i, r := range in {
		d, err := newDevRule(r)
		if err != nil {
			return nil, fmt.Errorf(field+"devices[%d]: %w", i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// matches is the one definition of a rule applying to a request, which the
// eBPF program and the v1 rules both follow: an allow rule must cover every
// requested access; a deny rule applies if it covers any of them.
func (d devRule) matches(typ int, major, minor int64, access int) bool {
	if d.typ != devAny && d.typ != typ {
		return false
	}
	if d.major != -1 && d.major != major || d.minor != -1 && d.minor != minor {
		return false
	}
	if d.allow {
		return access&^d.access == 0
	}
	return access&d.access != 0
}

// devAllowed evaluates rules like the kernel runs the program: the last
// matching rule decides, and nothing matching means deny.
func devAllowed(rules []devRule, typ int, major, minor int64, access int) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].matches(typ, major, minor, access) {
			return rules[i].allow
		}
	}
	return false
}

// v1Line is the rule in devices.allow/devices.deny syntax: "c 1:3 rwm".
func (d devRule) v1Line() string {
	typ := map[int]string{devAny: "a", devBlock: "b", devChar: "c"}[d.typ]
	num := func(n int64) string {
		if n == -1 {
			return "*"
		}
		return fmt.Sprint(n)
	}
	var acc strings.Builder
	for _, b := range []struct {
		bit int
		c   byte
	}{{accRead, 'r'}, {accWrite, 'w'}, {accMknod, 'm'}} {
		if d.access&b.bit != 0 {
			acc.WriteByte(b.c)
		}
	}
	return fmt.Sprintf("%s %s:%s %s", typ, num(d.major), num(d.minor), acc.String())
}
