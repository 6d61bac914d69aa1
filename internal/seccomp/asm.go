package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The code generator writes instructions whose jumps name labels; assemble
// turns them into classic BPF. Classic BPF can only jump forward, and a
// conditional jump only 255 instructions (jt/jf are uint8), so a conditional
// jump whose target is farther goes through an unconditional BPF_JA, whose
// 32-bit offset reaches anywhere:
//
//	jeq K, jt=0, jf=1      ; both targets far
//	ja  T
//	ja  F
//
// Making one jump long moves the targets of others, so assemble repeats the
// layout until no new jump needs the long form; jumps only ever grow, so
// this ends.

// label names a jump target. fall is the next instruction.
type label int

const fall label = 0

// Condition codes used by the generator.
const (
	jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jgt = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	ja  = unix.BPF_JMP | unix.BPF_JA

	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	andK  = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	retK  = unix.BPF_RET | unix.BPF_K

	opBind = 0xffff // pseudo-instruction: bind label jt here
)

type insn struct {
	code   uint16
	k      uint32
	jt, jf label
}

// asm collects labelled instructions.
type asm struct {
	code   []insn
	labels int
}

func (a *asm) newLabel() label {
	a.labels++
	return label(a.labels)
}

func (a *asm) bind(l label)    { a.code = append(a.code, insn{code: opBind, jt: l}) }
func (a *asm) load(off uint32) { a.code = append(a.code, insn{code: ldAbs, k: off}) }
func (a *asm) and(k uint32)    { a.code = append(a.code, insn{code: andK, k: k}) }
func (a *asm) ret(k uint32)    { a.code = append(a.code, insn{code: retK, k: k}) }
func (a *asm) jump(l label)    { a.code = append(a.code, insn{code: ja, jt: l}) }
func (a *asm) cond(op uint16, k uint32, t, f label) {
	a.code = append(a.code, insn{code: op, k: k, jt: t, jf: f})
}

// far records which sides of a conditional jump need a BPF_JA.
type far struct{ t, f bool }

func (f far) extra() int {
	n := 0
	if f.t {
		n++
	}
	if f.f {
		n++
	}
	return n
}

func (a *asm) assemble() ([]unix.SockFilter, error) {
	longs := make([]far, len(a.code))
	for {
		pos, at := a.layout(longs)
		grew := false
		for i, in := range a.code {
			if !isCond(in.code) {
				continue
			}
			base := pos[i] + 1 // jt and jf count from the next instruction
			if !longs[i].t && in.jt != fall && at[in.jt]-base > 255 {
				longs[i].t, grew = true, true
			}
			if !longs[i].f && in.jf != fall && at[in.jf]-base > 255 {
				longs[i].f, grew = true, true
			}
		}
		if !grew {
			return a.emit(pos, at, longs)
		}
	}
}

func isCond(code uint16) bool {
	return code&0x07 == unix.BPF_JMP && code != ja
}

// layout places every instruction given the current long jumps: pos is
// each instruction's index in the output, at each label's.
func (a *asm) layout(longs []far) (pos []int, at []int) {
	pos = make([]int, len(a.code))
	at = make([]int, a.labels+1)
	n := 0
	for i, in := range a.code {
		pos[i] = n
		switch {
		case in.code == opBind:
			at[in.jt] = n
		case isCond(in.code):
			n += 1 + longs[i].extra()
		default:
			n++
		}
	}
	return pos, at
}

func (a *asm) emit(pos, at []int, longs []far) ([]unix.SockFilter, error) {
	var out []unix.SockFilter
	// dist is the offset from the instruction after index next to label l.
	dist := func(l label, next int) (int, error) {
		if l == fall {
			return 0, nil
		}
		d := at[l] - next
		if d < 0 {
			return 0, fmt.Errorf("bpf: backward jump to label %d", l)
		}
		return d, nil
	}
	for i, in := range a.code {
		switch {
		case in.code == opBind:
		case in.code == ja:
			d, err := dist(in.jt, pos[i]+1)
			if err != nil {
				return nil, err
			}
			out = append(out, unix.SockFilter{Code: ja, K: uint32(d)})
		case isCond(in.code):
			ins, err := a.emitCond(in, pos[i], longs[i], dist)
			if err != nil {
				return nil, err
			}
			out = append(out, ins...)
		default:
			out = append(out, unix.SockFilter{Code: in.code, K: in.k})
		}
	}
	return out, nil
}

// emitCond writes one conditional jump and the BPF_JA trampolines its far
// sides need, placed right after it.
func (a *asm) emitCond(in insn, p int, long far, dist func(label, int) (int, error)) ([]unix.SockFilter, error) {
	next := p + 1 + long.extra() // first instruction after the trampolines
	out := []unix.SockFilter{{Code: in.code, K: in.k}}
	slot := 0 // trampolines emitted so far
	side := func(l label, isFar bool) (uint8, error) {
		if isFar {
			d, err := dist(l, p+2+slot)
			if err != nil {
				return 0, err
			}
			out = append(out, unix.SockFilter{Code: ja, K: uint32(d)})
			slot++
			return uint8(slot - 1), nil
		}
		d, err := dist(l, p+1)
		if err != nil {
			return 0, err
		}
		if l == fall {
			d = next - (p + 1)
		}
		return uint8(d), nil
	}
	var err error
	if out[0].Jt, err = side(in.jt, long.t); err != nil {
		return nil, err
	}
	if out[0].Jf, err = side(in.jf, long.f); err != nil {
		return nil, err
	}
	return out, nil
}
