//go:build linux

// Package seccomp compiles an OCI runtime-spec seccomp configuration
// (linux.seccomp) into a classic BPF program and installs it with
// seccomp(2), in pure Go: no libseccomp, no cgo.
//
// The program has the shape libseccomp gives it: check seccomp_data.arch
// against every architecture of the filter (the native one is always
// there), kill on any other, then per architecture compare the syscall
// number and, for conditional rules, the 64-bit arguments as two 32-bit
// words. Semantics chosen where the spec is silent:
//
//   - Rules for one syscall are tried in the order the spec lists them and
//     the first whose conditions all hold decides; none holding means the
//     default action. Conditions of one rule are ANDed, even when they
//     repeat an argument index.
//   - An architecture the filter does not list gets the bad-arch action,
//     SECCOMP_RET_KILL_PROCESS. x32 syscalls (AUDIT_ARCH_X86_64 with the
//     0x40000000 bit) count as a separate architecture, so listing only
//     SCMP_ARCH_X86_64 kills them, as libseccomp does.
//   - A syscall name missing on an architecture is skipped there; a name
//     no known architecture has is an error.
//   - 32-bit architectures compare only the low word of an argument, with
//     the rule's value truncated to 32 bits, since their arguments are
//     32-bit registers.
//   - SCMP_ACT_NOTIFY is refused: pier has no seccomp agent protocol;
//     listenerPath is ignored.
//
// Not done, unlike libseccomp or runc: rewriting i386 socket syscalls into
// socketcall(2) rules, and runc's ENOSYS (instead of the default action)
// for syscalls newer than the profile. The syscalls are compared in a
// linear list; Docker's default profile on x86_64 (with i386 and x32)
// takes about 1400 of the kernel's 4096 instructions.
//
// Syscall tables are generated from golang.org/x/sys by mksysnum.go.
//
//go:generate go run mksysnum.go
package seccomp
