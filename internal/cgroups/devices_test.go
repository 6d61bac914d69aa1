package cgroups

import (
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runDeviceProgram interprets the few eBPF instructions deviceProgram
// emits, so the program's verdicts are checked without root or a kernel.
func runDeviceProgram(t *testing.T, insns []insn, typ int, major, minor uint32, access int) bool {
	t.Helper()
	ctx := [3]uint32{uint32(access)<<16 | uint32(typ), major, minor}
	var reg [11]uint64
	for pc, steps := 0, 0; steps < 1000; steps++ {
		if pc < 0 || pc >= len(insns) {
			t.Fatalf("pc %d outside the program (%d instructions)", pc, len(insns))
		}
		ins := insns[pc]
		dst, srcReg := ins.dstSrc()
		src := uint64(uint32(ins.imm))
		if ins.code&unix.BPF_X != 0 {
			src = reg[srcReg]
		}
		pc++
		switch ins.code & 0x07 {
		case unix.BPF_LDX:
			if ins.code != unix.BPF_LDX|unix.BPF_MEM|unix.BPF_W || srcReg != r1 || ins.off%4 != 0 || ins.off > 8 {
				t.Fatalf("unexpected load %+v", ins)
			}
			reg[dst] = uint64(ctx[ins.off/4])
		case unix.BPF_ALU:
			switch ins.code & 0xf0 {
			case unix.BPF_MOV:
				reg[dst] = uint64(uint32(src))
			case unix.BPF_AND:
				reg[dst] = uint64(uint32(reg[dst] & src))
			case unix.BPF_RSH:
				reg[dst] = uint64(uint32(reg[dst]) >> src)
			default:
				t.Fatalf("unexpected ALU op %+v", ins)
			}
		case unix.BPF_JMP:
			if ins.code != unix.BPF_JMP|unix.BPF_EXIT {
				t.Fatalf("unexpected 64-bit jump %+v", ins)
			}
			return reg[r0] == 1
		case unix.BPF_JMP32:
			a, b := uint32(reg[dst]), uint32(src)
			taken := false
			switch ins.code & 0xf0 {
			case unix.BPF_JEQ:
				taken = a == b
			case unix.BPF_JNE:
				taken = a != b
			default:
				t.Fatalf("unexpected jump %+v", ins)
			}
			if taken {
				pc += int(ins.off)
			}
		default:
			t.Fatalf("unexpected instruction %+v", ins)
		}
	}
	t.Fatal("program did not exit")
	return false
}

func dev(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		d.Major = &major
	}
	if minor >= 0 {
		d.Minor = &minor
	}
	return d
}

var ruleSets = map[string][]specs.LinuxDeviceCgroup{
	"empty":    nil,
	"deny all": {dev(false, "a", -1, -1, "rwm")},
	"default": {dev(false, "", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm"), dev(true, "c", 136, -1, "rw"),
		dev(true, "c", -1, -1, "m"), dev(true, "b", -1, -1, "m")},
	"deny after allow": {dev(false, "a", -1, -1, "rwm"), dev(true, "c", 1, 3, "rwm"), dev(false, "c", 1, 3, "w")},
	"allow all":        {dev(false, "a", -1, -1, "rwm"), dev(true, "a", -1, -1, "rwm"), dev(false, "b", 8, 0, "r")},
	"allow all last":   {dev(false, "b", 8, 0, "r"), dev(true, "", -1, -1, "")},
	"only read":        {dev(true, "c", 1, 5, "r")},
}

// TestDeviceProgram checks the compiled program against the rules'
// meaning (devAllowed) for every request in a small universe, and a few
// verdicts by hand.
func TestDeviceProgram(t *testing.T) {
	for name, in := range ruleSets {
		rules, err := devRules(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		insns := deviceProgram(rules)
		if unsafe.Sizeof(insns[0]) != 8 {
			t.Fatalf("an instruction is %d bytes, the kernel reads 8", unsafe.Sizeof(insns[0]))
		}
		for _, typ := range []int{devBlock, devChar} {
			for _, major := range []int64{1, 8, 136} {
				for _, minor := range []int64{0, 3, 5} {
					for access := 1; access <= accAll; access++ {
						want := devAllowed(rules, typ, major, minor, access)
						if got := runDeviceProgram(t, insns, typ, uint32(major), uint32(minor), access); got != want {
							t.Errorf("%s: type %d %d:%d access %d: program says %v, rules say %v", name, typ, major, minor, access, got, want)
						}
					}
				}
			}
		}
	}
	check := func(set string, typ int, major, minor int64, access int, want bool) {
		rules, _ := devRules(ruleSets[set])
		if got := devAllowed(rules, typ, major, minor, access); got != want {
			t.Errorf("%s: type %d %d:%d access %d = %v, want %v", set, typ, major, minor, access, got, want)
		}
	}
	check("empty", devChar, 1, 3, accRead, false)
	check("default", devChar, 1, 3, accRead|accWrite, true)   // /dev/null
	check("default", devChar, 1, 5, accRead, false)           // /dev/zero not listed
	check("default", devChar, 136, 0, accRead|accWrite, true) // a pty
	check("default", devChar, 136, 0, accMknod, true)         // "c *:* m"
	check("default", devBlock, 8, 0, accRead, false)
	check("deny after allow", devChar, 1, 3, accRead, true)
	check("deny after allow", devChar, 1, 3, accRead|accWrite, false)
	check("allow all", devBlock, 8, 0, accRead, false)
	check("allow all", devBlock, 8, 0, accWrite, true)
	check("allow all last", devBlock, 8, 0, accRead, true)
	check("only read", devChar, 1, 5, accRead|accWrite, false)
}

func TestDeviceRulesV1Lines(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxDeviceCgroup
		want string
	}{
		{dev(false, "", -1, -1, ""), "a *:* rwm"},
		{dev(true, "c", 1, 3, "rwm"), "c 1:3 rwm"},
		{dev(true, "b", 8, -1, "mr"), "b 8:* rm"},
	} {
		r, err := newDevRule(tc.in)
		if err != nil || r.v1Line() != tc.want {
			t.Errorf("v1Line(%+v) = %q, %v; want %q", tc.in, r.v1Line(), err, tc.want)
		}
	}
	for _, bad := range []specs.LinuxDeviceCgroup{dev(true, "x", -1, -1, "r"), dev(true, "c", -1, -1, "rx"), {Allow: true, Type: "c", Major: i64(-5), Access: "r"}} {
		if _, err := newDevRule(bad); err == nil {
			t.Errorf("newDevRule(%+v) succeeded", bad)
		}
	}
}
