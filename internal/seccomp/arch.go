package seccomp

import (
	"runtime"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// x32Bit is set in the syscall number of every x32 syscall; x32 shares
// AUDIT_ARCH_X86_64 with x86_64, so this bit is what tells them apart.
const x32Bit = 0x40000000

// arch is what the compiler needs to know about one seccomp architecture.
type arch struct {
	name   specs.Arch
	audit  uint32                   // seccomp_data.arch value
	wide   bool                     // 64-bit arguments; 32-bit ones compare the low word only
	numsFn func() map[string]uint32 // nil: accepted name, but no table, so never allowed through

	mu   sync.Mutex
	nums map[string]uint32 // Guarded by mu.
}

// table returns the architecture's syscall numbers, built on first use:
// as package-level maps they cost every pier-runtime process ~0.5 ms at
// start-up, filter or not.
func (a *arch) table() map[string]uint32 {
	if a.numsFn == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nums == nil {
		a.nums = a.numsFn()
	}
	return a.nums
}

// ReleaseTables drops the syscall tables built so far (~0.35 MB each), for
// a long-lived process that compiled a filter once: pier-monitor after a
// container's create, which then idles for the container's life. A later
// compile builds them again.
func ReleaseTables() {
	for _, a := range arches {
		a.mu.Lock()
		a.nums = nil
		a.mu.Unlock()
	}
}

// arches holds every name the runtime-spec defines. Those without a table
// (n32 MIPS, 31-bit s390, PA-RISC, m68k, SuperH) are valid in a config but
// get no section in the filter, so their syscalls meet the bad-arch action.
var arches = func() map[specs.Arch]*arch {
	m := map[specs.Arch]*arch{}
	for _, a := range []*arch{
		{name: specs.ArchX86_64, audit: unix.AUDIT_ARCH_X86_64, wide: true, numsFn: sysnumX86_64},
		{name: specs.ArchX32, audit: unix.AUDIT_ARCH_X86_64, wide: false, numsFn: sysnumX32},
		{name: specs.ArchX86, audit: unix.AUDIT_ARCH_I386, wide: false, numsFn: sysnumX86},
		{name: specs.ArchAARCH64, audit: unix.AUDIT_ARCH_AARCH64, wide: true, numsFn: sysnumAARCH64},
		{name: specs.ArchARM, audit: unix.AUDIT_ARCH_ARM, wide: false, numsFn: sysnumARM},
		{name: specs.ArchMIPS, audit: unix.AUDIT_ARCH_MIPS, wide: false, numsFn: sysnumMIPS},
		{name: specs.ArchMIPSEL, audit: unix.AUDIT_ARCH_MIPSEL, wide: false, numsFn: sysnumMIPS},
		{name: specs.ArchMIPS64, audit: unix.AUDIT_ARCH_MIPS64, wide: true, numsFn: sysnumMIPS64},
		{name: specs.ArchMIPSEL64, audit: unix.AUDIT_ARCH_MIPSEL64, wide: true, numsFn: sysnumMIPS64},
		{name: specs.ArchMIPS64N32, audit: unix.AUDIT_ARCH_MIPS64N32, wide: false},
		{name: specs.ArchMIPSEL64N32, audit: unix.AUDIT_ARCH_MIPSEL64N32, wide: false},
		{name: specs.ArchPPC, audit: unix.AUDIT_ARCH_PPC, wide: false, numsFn: sysnumPPC},
		{name: specs.ArchPPC64, audit: unix.AUDIT_ARCH_PPC64, wide: true, numsFn: sysnumPPC64},
		{name: specs.ArchPPC64LE, audit: unix.AUDIT_ARCH_PPC64LE, wide: true, numsFn: sysnumPPC64},
		{name: specs.ArchS390, audit: unix.AUDIT_ARCH_S390, wide: false},
		{name: specs.ArchS390X, audit: unix.AUDIT_ARCH_S390X, wide: true, numsFn: sysnumS390X},
		{name: specs.ArchPARISC, audit: unix.AUDIT_ARCH_PARISC, wide: false},
		{name: specs.ArchPARISC64, audit: unix.AUDIT_ARCH_PARISC64, wide: true},
		{name: specs.ArchRISCV64, audit: unix.AUDIT_ARCH_RISCV64, wide: true, numsFn: sysnumRISCV64},
		{name: specs.ArchLOONGARCH64, audit: unix.AUDIT_ARCH_LOONGARCH64, wide: true, numsFn: sysnumLOONGARCH64},
		{name: specs.ArchM68K, audit: unix.AUDIT_ARCH_M68K, wide: false},
		{name: specs.ArchSH, audit: unix.AUDIT_ARCH_SHEL, wide: false},
		{name: specs.ArchSHEB, audit: unix.AUDIT_ARCH_SH, wide: false},
	} {
		m[a.name] = a
	}
	return m
}()

// nativeArches maps GOARCH to the architecture the kernel runs.
var nativeArches = map[string]specs.Arch{
	"amd64": specs.ArchX86_64, "386": specs.ArchX86,
	"arm64": specs.ArchAARCH64, "arm": specs.ArchARM,
	"mips": specs.ArchMIPS, "mipsle": specs.ArchMIPSEL,
	"mips64": specs.ArchMIPS64, "mips64le": specs.ArchMIPSEL64,
	"ppc64": specs.ArchPPC64, "ppc64le": specs.ArchPPC64LE,
	"s390x": specs.ArchS390X, "riscv64": specs.ArchRISCV64,
	"loong64": specs.ArchLOONGARCH64,
}

// bigEndianArches are the GOARCHes whose kernel lays out seccomp_data's
// 64-bit arguments high word first.
var bigEndianArches = map[string]bool{
	"mips": true, "mips64": true, "ppc64": true, "s390x": true,
}

// host describes the machine the filter will run on: its architecture is
// always in the filter, and its byte order places the argument words.
type host struct {
	native    specs.Arch
	bigEndian bool
}

func thisHost() host {
	return host{native: nativeArches[runtime.GOARCH], bigEndian: bigEndianArches[runtime.GOARCH]}
}
