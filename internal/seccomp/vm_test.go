package seccomp

import (
	"encoding/binary"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is one seccomp_data the tests run a filter on.
type call struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

var (
	amd64Host = host{native: specs.ArchX86_64}
	arm64Host = host{native: specs.ArchAARCH64}
	s390xHost = host{native: specs.ArchS390X, bigEndian: true}
)

// encode lays out seccomp_data for x/net/bpf's VM. That VM loads words
// big-endian (it was written for packets) while the kernel loads them in
// its own byte order, so each 32-bit word the kernel would read is written
// big-endian at the offset the kernel would read it from.
func encode(h host, c call) []byte {
	b := make([]byte, 64)
	put := func(off int, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }
	put(offNr, c.nr)
	put(offArch, c.arch)
	for i, a := range c.args {
		lo, hi := 16+8*i, 20+8*i
		if h.bigEndian {
			lo, hi = hi, lo
		}
		put(lo, uint32(a))
		put(hi, uint32(a>>32))
	}
	return b
}

// vm turns a compiled filter into an x/net/bpf VM, which also checks that
// every jump stays inside the program and that it ends in a return.
func vm(t testing.TB, f *Filter) *bpf.VM {
	t.Helper()
	raw := f.Instructions()
	ins := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		ins[i] = bpf.RawInstruction{Op: r.Code, Jt: r.Jt, Jf: r.Jf, K: r.K}.Disassemble()
		if _, ok := ins[i].(bpf.RawInstruction); ok {
			t.Fatalf("instruction %d (%+v) is not valid classic BPF", i, r)
		}
	}
	m, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
	return m
}

func run(t testing.TB, m *bpf.VM, h host, c call) uint32 {
	t.Helper()
	out, err := m.Run(encode(h, c))
	if err != nil {
		t.Fatalf("run %+v: %v", c, err)
	}
	return uint32(out)
}

func mustCompile(t testing.TB, s *specs.LinuxSeccomp, h host) *Filter {
	t.Helper()
	f, err := compile(s, h)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return f
}

func nr(t testing.TB, a specs.Arch, name string) uint32 {
	t.Helper()
	n, ok := arches[a].table()[name]
	if !ok {
		t.Fatalf("%s has no syscall %q", a, name)
	}
	return n
}

func errnoRet(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

func uintp(v uint) *uint { return &v }
