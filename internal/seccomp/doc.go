//go:build linux

// Package seccomp compiles an OCI runtime-spec seccomp configuration
// (linux.seccomp) into a classic BPF program and installs it with
// seccomp(2), in pure Go: no libseccomp, no cgo.
//
// The program first checks seccomp_data.arch against every architecture of
// the filter (the native one is always there) and kills on any other, as
// libseccomp's does; then, per architecture, it finds the syscall number
// by a binary search over ranges of numbers that share an outcome (see
// tree.go) and, for conditional rules, compares the 64-bit arguments as
// two 32-bit words (a run of one-value rules on one argument as a set, see
// argset.go). Semantics chosen where the spec is silent:
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
// for syscalls newer than the profile.
//
// The search, not a linear list, is there for the kernel's sake: at
// install it runs the filter for every syscall number of the native and
// compat architecture to build its cache of always-allowed syscalls, and
// JIT-compiles it. Docker's default profile on x86_64 (with i386 and x32)
// is ~360 instructions instead of the ~1400 of the linear list pier
// compiled before (linear_test.go keeps it to test against), each syscall
// is decided in at most ~15, and installing it takes ~0.15 ms instead of
// ~1 ms (BenchmarkInstall on a quiet machine; the container init's
// PIER_TRACE mark went from 1.3–1.9 ms to ~0.2).
//
// Syscall tables are generated from golang.org/x/sys by mksysnum.go.
//
//go:generate go run mksysnum.go
package seccomp
