package seccomp

import (
	"fmt"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxErrno is the largest errno the kernel returns for SECCOMP_RET_ERRNO;
// it silently caps larger data, so a larger errnoRet is refused instead.
const maxErrno = 4095

// plan is a validated linux.seccomp: actions encoded as SECCOMP_RET_*
// values, architectures resolved. It knows nothing of BPF yet.
type plan struct {
	def    uint32
	flags  uint
	arches []*arch // native first, no duplicates, each with a table
	rules  []rule
}

type rule struct {
	names []string
	act   uint32
	args  []specs.LinuxSeccompArg
}

var flagBits = map[specs.LinuxSeccompFlag]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":     unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:       unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
}

var operators = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
	specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
	specs.OpMaskedEqual: true,
}

// isKnown reports whether any table has the name: a name outside all of
// them is a typo, not a syscall another architecture has. Only names the
// config's own architectures lack get here, so the other tables are built
// on that rare path alone.
func isKnown(name string) bool {
	if a := arches[nativeArches[runtime.GOARCH]]; a != nil {
		if _, ok := a.table()[name]; ok {
			return true
		}
	}
	for _, a := range arches {
		if _, ok := a.table()[name]; ok {
			return true
		}
	}
	return false
}

func parse(s *specs.LinuxSeccomp, h host) (*plan, error) {
	if s == nil {
		return nil, fmt.Errorf("linux.seccomp: missing")
	}
	if arches[h.native] == nil || arches[h.native].numsFn == nil {
		return nil, fmt.Errorf("seccomp: no syscall table for the native architecture %q", h.native)
	}
	var p plan
	var err error
	if p.def, err = action("linux.seccomp.defaultAction", s.DefaultAction,
		"linux.seccomp.defaultErrnoRet", s.DefaultErrnoRet); err != nil {
		return nil, err
	}
	if p.arches, err = filterArches(s.Architectures, h.native); err != nil {
		return nil, err
	}
	for i, f := range s.Flags {
		bit, ok := flagBits[f]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.flags[%d]: unsupported flag %q", i, f)
		}
		p.flags |= bit
	}
	for i, sc := range s.Syscalls {
		r, err := parseRule(fmt.Sprintf("linux.seccomp.syscalls[%d]", i), sc)
		if err != nil {
			return nil, err
		}
		p.rules = append(p.rules, r)
	}
	return &p, nil
}

// filterArches returns the native architecture and then the listed ones,
// dropping duplicates and those without a syscall table.
func filterArches(names []specs.Arch, native specs.Arch) ([]*arch, error) {
	out := []*arch{arches[native]}
	seen := map[specs.Arch]bool{native: true}
	for i, name := range names {
		a, ok := arches[name]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, name)
		}
		if seen[name] || a.numsFn == nil {
			continue
		}
		seen[name] = true
		out = append(out, a)
	}
	return out, nil
}

func parseRule(field string, sc specs.LinuxSyscall) (rule, error) {
	r := rule{names: sc.Names, args: sc.Args}
	if len(sc.Names) == 0 {
		return r, fmt.Errorf("%s.names: no syscall named", field)
	}
	for _, name := range sc.Names {
		if !isKnown(name) {
			return r, fmt.Errorf("%s.names: unknown syscall %q", field, name)
		}
	}
	var err error
	if r.act, err = action(field+".action", sc.Action, field+".errnoRet", sc.ErrnoRet); err != nil {
		return r, err
	}
	for j, arg := range sc.Args {
		if arg.Index >= 6 {
			return r, fmt.Errorf("%s.args[%d].index: %d is not an argument index (0-5)", field, j, arg.Index)
		}
		if !operators[arg.Op] {
			return r, fmt.Errorf("%s.args[%d].op: unknown operator %q", field, j, arg.Op)
		}
	}
	return r, nil
}

// action encodes an action as its SECCOMP_RET_* value. errnoRet is the
// errno for SCMP_ACT_ERRNO (EPERM when unset) and the tracer's message for
// SCMP_ACT_TRACE, as runc uses it; other actions carry no data.
func action(field string, act specs.LinuxSeccompAction, errnoField string, errnoRet *uint) (uint32, error) {
	data := uint(unix.EPERM)
	if errnoRet != nil {
		data = *errnoRet
	}
	switch act {
	case specs.ActErrno, specs.ActTrace:
		limit := uint(unix.SECCOMP_RET_DATA)
		if act == specs.ActErrno {
			limit = maxErrno
		}
		if data > limit {
			return 0, fmt.Errorf("%s: %d is out of range (0-%d)", errnoField, data, limit)
		}
		if act == specs.ActErrno {
			return unix.SECCOMP_RET_ERRNO | uint32(data), nil
		}
		return unix.SECCOMP_RET_TRACE | uint32(data), nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%s: seccomp notify is not supported", field)
	}
	ret, ok := map[specs.LinuxSeccompAction]uint32{
		specs.ActKill:        unix.SECCOMP_RET_KILL_THREAD,
		specs.ActKillThread:  unix.SECCOMP_RET_KILL_THREAD,
		specs.ActKillProcess: unix.SECCOMP_RET_KILL_PROCESS,
		specs.ActTrap:        unix.SECCOMP_RET_TRAP,
		specs.ActAllow:       unix.SECCOMP_RET_ALLOW,
		specs.ActLog:         unix.SECCOMP_RET_LOG,
	}[act]
	if !ok {
		return 0, fmt.Errorf("%s: unknown action %q", field, act)
	}
	if errnoRet != nil {
		return 0, fmt.Errorf("%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s", errnoField, act)
	}
	return ret, nil
}
