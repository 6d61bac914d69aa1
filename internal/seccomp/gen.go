package seccomp

import (
	"math"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// badArch is returned for an architecture the filter does not list.
// libseccomp's default kills the thread; the whole process is the safer
// unit for a container, and kernels before 4.14 read it as a thread kill.
const badArch = unix.SECCOMP_RET_KILL_PROCESS

type gen struct {
	asm
	p *plan
	h host
	// body emits one architecture's rules for syscall numbers in [lo, hi],
	// with the number in A: tree, or the linear list the tests compare it
	// with.
	body func(g *gen, a *arch, lo, hi uint32)
}

// generate lays out the program:
//
//	ld arch; jeq AUDIT_1 -> S1; jeq AUDIT_2 -> S2; ...; ret KILL_PROCESS
//	S1: ld nr; <search tree of arch 1's syscalls>
//	...
//
// x86_64 and x32 share one audit value, so their section first splits on
// the x32 bit of the syscall number.
func generate(p *plan, h host) ([]unix.SockFilter, error) {
	return generateWith(p, h, (*gen).tree)
}

func generateWith(p *plan, h host, body func(*gen, *arch, uint32, uint32)) ([]unix.SockFilter, error) {
	g := &gen{p: p, h: h, body: body}
	var audits []uint32
	byAudit := map[uint32][]*arch{}
	for _, a := range p.arches {
		if byAudit[a.audit] == nil {
			audits = append(audits, a.audit)
		}
		byAudit[a.audit] = append(byAudit[a.audit], a)
	}
	sections := make([]label, len(audits))
	g.load(offArch)
	for i, audit := range audits {
		sections[i] = g.newLabel()
		g.cond(jeq, audit, sections[i], fall)
	}
	g.ret(badArch)
	for i, audit := range audits {
		g.bind(sections[i])
		g.load(offNr)
		if audit == unix.AUDIT_ARCH_X86_64 {
			g.x86Section(byAudit[audit])
			continue
		}
		g.body(g, byAudit[audit][0], 0, math.MaxUint32)
	}
	return g.assemble()
}

// x86Section sends numbers with the x32 bit to the x32 rules, or to the
// bad-arch kill when x32 is not in the filter (else x32 would be a way
// around an x86_64 deny list), and the others to the x86_64 rules.
func (g *gen) x86Section(as []*arch) {
	var x64, x32 *arch
	for _, a := range as {
		if a.name == specs.ArchX32 {
			x32 = a
		} else {
			x64 = a
		}
	}
	// Jumps only go forward, so the kill for a missing half is its own
	// return at the end of the section.
	kill := g.newLabel()
	toX32, toX64 := kill, kill
	if x32 != nil {
		toX32 = g.newLabel()
	}
	if x64 != nil {
		toX64 = fall
	}
	g.cond(jge, x32Bit, toX32, toX64)
	if x64 != nil {
		g.body(g, x64, 0, x32Bit-1)
	}
	if x32 != nil {
		g.bind(toX32)
		g.body(g, x32, x32Bit, math.MaxUint32)
	}
	if x32 == nil || x64 == nil {
		g.bind(kill)
		g.ret(badArch)
	}
}

func sortU32(s []uint32) { slices.Sort(s) }
