package seccomp

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxInsns is the kernel's BPF_MAXINSNS: a longer program is refused.
const maxInsns = 4096

// Filter is a compiled seccomp program and the flags to install it with.
type Filter struct {
	prog  []unix.SockFilter
	flags uint
}

// Compile validates s and compiles it for the architecture this binary
// runs on. Errors name the offending field of the config, e.g.
// `linux.seccomp.syscalls[3].names: unknown syscall "foo"`.
func Compile(s *specs.LinuxSeccomp) (*Filter, error) {
	return compile(s, thisHost())
}

func compile(s *specs.LinuxSeccomp, h host) (*Filter, error) {
	p, err := parse(s, h)
	if err != nil {
		return nil, err
	}
	prog, err := generate(p, h)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("linux.seccomp: the filter needs %d BPF instructions, the kernel takes at most %d", len(prog), maxInsns)
	}
	return &Filter{prog: prog, flags: p.flags}, nil
}

// Validate runs every check Compile does.
func Validate(s *specs.LinuxSeccomp) error {
	_, err := Compile(s)
	return err
}

// Instructions returns a copy of the BPF program.
func (f *Filter) Instructions() []unix.SockFilter {
	return append([]unix.SockFilter(nil), f.prog...)
}

// Flags returns the SECCOMP_FILTER_FLAG_* bits Load passes to seccomp(2).
func (f *Filter) Flags() uint { return f.flags }

// Load installs the filter with seccomp(SECCOMP_SET_MODE_FILTER). The
// kernel requires no_new_privs or CAP_SYS_ADMIN. Without
// SECCOMP_FILTER_FLAG_TSYNC the filter binds only the calling thread, so
// the caller locks its OS thread and execs from it.
func (f *Filter) Load() error {
	prog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(f.flags), uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("seccomp set mode filter: %w", errno)
	}
	if r != 0 { // with TSYNC: the thread that could not be synchronised
		return fmt.Errorf("seccomp set mode filter: thread %d cannot take the filter", r)
	}
	return nil
}
