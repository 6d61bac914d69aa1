package seccomp

import (
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// x32Bit is set in the syscall number of every x32 syscall; x32 shares
// AUDIT_ARCH_X86_64 with x86_64, so this bit is what tells them apart.
const x32Bit = 0x40000000

// arch is what the compiler needs to know about one seccomp architecture.
type arch struct {
	name  specs.Arch
	audit uint32            // seccomp_data.arch value
	wide  bool              // 64-bit arguments; 32-bit ones compare the low word only
	nums  map[string]uint32 // nil: accepted name, but no table, so never allowed through
}

// arches holds every name the runtime-spec defines. Those without a table
// (n32 MIPS, 31-bit s390, PA-RISC, m68k, SuperH) are valid in a config but
// get no section in the filter, so their syscalls meet the bad-arch action.
var arches = func() map[specs.Arch]*arch {
	m := map[specs.Arch]*arch{}
	for _, a := range []*arch{
		{specs.ArchX86_64, unix.AUDIT_ARCH_X86_64, true, sysnumX86_64},
		{specs.ArchX32, unix.AUDIT_ARCH_X86_64, false, sysnumX32},
		{specs.ArchX86, unix.AUDIT_ARCH_I386, false, sysnumX86},
		{specs.ArchAARCH64, unix.AUDIT_ARCH_AARCH64, true, sysnumAARCH64},
		{specs.ArchARM, unix.AUDIT_ARCH_ARM, false, sysnumARM},
		{specs.ArchMIPS, unix.AUDIT_ARCH_MIPS, false, sysnumMIPS},
		{specs.ArchMIPSEL, unix.AUDIT_ARCH_MIPSEL, false, sysnumMIPS},
		{specs.ArchMIPS64, unix.AUDIT_ARCH_MIPS64, true, sysnumMIPS64},
		{specs.ArchMIPSEL64, unix.AUDIT_ARCH_MIPSEL64, true, sysnumMIPS64},
		{specs.ArchMIPS64N32, unix.AUDIT_ARCH_MIPS64N32, false, nil},
		{specs.ArchMIPSEL64N32, unix.AUDIT_ARCH_MIPSEL64N32, false, nil},
		{specs.ArchPPC, unix.AUDIT_ARCH_PPC, false, sysnumPPC},
		{specs.ArchPPC64, unix.AUDIT_ARCH_PPC64, true, sysnumPPC64},
		{specs.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE, true, sysnumPPC64},
		{specs.ArchS390, unix.AUDIT_ARCH_S390, false, nil},
		{specs.ArchS390X, unix.AUDIT_ARCH_S390X, true, sysnumS390X},
		{specs.ArchPARISC, unix.AUDIT_ARCH_PARISC, false, nil},
		{specs.ArchPARISC64, unix.AUDIT_ARCH_PARISC64, true, nil},
		{specs.ArchRISCV64, unix.AUDIT_ARCH_RISCV64, true, sysnumRISCV64},
		{specs.ArchLOONGARCH64, unix.AUDIT_ARCH_LOONGARCH64, true, sysnumLOONGARCH64},
		{specs.ArchM68K, unix.AUDIT_ARCH_M68K, false, nil},
		{specs.ArchSH, unix.AUDIT_ARCH_SHEL, false, nil},
		{specs.ArchSHEB, unix.AUDIT_ARCH_SH, false, nil},
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
