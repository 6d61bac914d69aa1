package cgroups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The device filter is a dozen eBPF instructions and four bpf(2) calls,
// made here with x/sys/unix: a BPF library (cilium/ebpf, 16 packages with
// ELF, BTF and go/format) cost every binary that links the cgroup manager
// ~1 MB of code and its package initialisation, pierd and each
// container's monitor included.

// insn is one eBPF instruction as the kernel reads it (struct bpf_insn).
type insn struct {
	code uint8
	regs uint8 // the bit fields dst_reg:4, src_reg:4 (regs)
	off  int16 // a jump's distance, counted from the next instruction
	imm  int32
}

// bigEndian: C bit fields fill from the high bits there, so dst_reg is
// the high nibble; on little-endian machines it is the low one.
var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

func regs(dst, src uint8) uint8 {
	if bigEndian {
		return dst<<4 | src
	}
	return dst | src<<4
}

// dstSrc undoes regs.
func (i insn) dstSrc() (dst, src uint8) {
	if bigEndian {
		return i.regs >> 4, i.regs & 0xf
	}
	return i.regs & 0xf, i.regs >> 4
}

// The registers deviceProgram uses; R1 holds the context on entry, R0
// the verdict on exit.
const (
	r0, r1, r2, r3, r4, r5 = 0, 1, 2, 3, 4, 5
)

func loadWord(dst, src uint8, off int16) insn {
	return insn{code: unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W, regs: regs(dst, src), off: off}
}
func alu32Imm(op, dst uint8, imm int32) insn {
	return insn{code: unix.BPF_ALU | op | unix.BPF_K, regs: regs(dst, 0), imm: imm}
}
func mov32Reg(dst, src uint8) insn {
	return insn{code: unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X, regs: regs(dst, src)}
}

// jump32Imm compares dst's low 32 bits with imm; the distance is set when
// the block it jumps over is complete.
func jump32Imm(op, dst uint8, imm int32) insn {
	return insn{code: unix.BPF_JMP32 | op | unix.BPF_K, regs: regs(dst, 0), imm: imm}
}
func exit() insn { return insn{code: unix.BPF_JMP | unix.BPF_EXIT} }

// deviceProgram compiles rules to a BPF_PROG_TYPE_CGROUP_DEVICE program.
// The context is struct bpf_cgroup_dev_ctx { u32 access_type (access<<16 |
// type); u32 major; u32 minor; }; returning 1 allows, 0 denies.
//
// Rules are emitted last first, so the first match in the program is the
// last match in the list, and the program returns at once; a rule that
// matches everything ends the program, since nothing before it can be
// reached. Falling off the end denies. Each rule is one block whose
// every test jumps, on a mismatch, to the block after it: the next rule,
// or the final deny.
func deviceProgram(rules []devRule) []insn {
	const (
		rType   = r2
		rAccess = r3
		rMajor  = r4
		rMinor  = r5
		rTmp    = r1
	)
	insns := []insn{
		loadWord(rType, r1, 0),
		alu32Imm(unix.BPF_AND, rType, 0xffff),
		loadWord(rAccess, r1, 0),
		alu32Imm(unix.BPF_RSH, rAccess, 16),
		loadWord(rMajor, r1, 4),
		loadWord(rMinor, r1, 8),
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		var block []insn
		if r.typ != devAny {
			block = append(block, jump32Imm(unix.BPF_JNE, rType, int32(r.typ)))
		}
		if r.major != -1 {
			block = append(block, jump32Imm(unix.BPF_JNE, rMajor, int32(uint32(r.major))))
		}
		if r.minor != -1 {
			block = append(block, jump32Imm(unix.BPF_JNE, rMinor, int32(uint32(r.minor))))
		}
		if r.allow && r.access != accAll {
			// Every requested bit must be in the rule: access & ^rule == 0.
			block = append(block,
				mov32Reg(rTmp, rAccess),
				alu32Imm(unix.BPF_AND, rTmp, int32(^r.access&accAll)),
				jump32Imm(unix.BPF_JNE, rTmp, 0))
		}
		if !r.allow && r.access != accAll {
			// Some requested bit must be in the rule: access & rule != 0.
			block = append(block,
				mov32Reg(rTmp, rAccess),
				alu32Imm(unix.BPF_AND, rTmp, int32(r.access)),
				jump32Imm(unix.BPF_JEQ, rTmp, 0))
		}
		verdict := int32(0)
		if r.allow {
			verdict = 1
		}
		block = append(block, alu32Imm(unix.BPF_MOV, r0, verdict), exit())
		for j := range block {
			if block[j].code&0x07 == unix.BPF_JMP32 {
				block[j].off = int16(len(block) - j - 1)
			}
		}
		insns = append(insns, block...)
		if len(block) == 2 {
			return insns // a catch-all: the rules before it are unreachable
		}
	}
	return append(insns, alu32Imm(unix.BPF_MOV, r0, 0), exit())
}

// bpfPtr is a user pointer in a bpf_attr, 64 bits wide: pier builds for
// 64-bit machines only (the array below does not compile elsewhere). An
// unsafe.Pointer, not a uintptr, so that what it points to stays alive
// and on the heap.
type bpfPtr struct{ p unsafe.Pointer }

var _ [unsafe.Sizeof(bpfPtr{}) - 8]byte

// The parts of union bpf_attr the filter uses; the kernel zero-fills
// what follows the size passed.
type progLoadAttr struct {
	progType, insnCnt uint32
	insns, license    bpfPtr
	logLevel, logSize uint32
	logBuf            bpfPtr
}

type attachAttr struct {
	targetFd, attachBpfFd, attachType, attachFlags uint32
}

type queryAttr struct {
	targetFd, attachType, queryFlags, attachFlags uint32
	progIDs                                       bpfPtr
	progCnt                                       uint32
	_                                             uint32
}

type getFdAttr struct {
	id, nextID, openFlags uint32
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// progLoad is BPF_PROG_LOAD, tried again on EAGAIN: the kernel returns it
// when a signal interrupts the verifier, and Go's preemption signal
// (SIGURG) does that under load (seen in the cgroup-v2 VM).
func progLoad(attr *progLoadAttr) (int, error) {
	for i := 0; ; i++ {
		fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
		if !errors.Is(err, unix.EAGAIN) || i == 9 {
			return fd, err
		}
	}
}

// loadProgram loads insns as a cgroup device program. A refused program
// is loaded again with the verifier's log, which the error quotes.
func loadProgram(insns []insn) (int, error) {
	license := []byte("Apache-2.0\x00")
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(insns)),
		insns:    bpfPtr{p: unsafe.Pointer(&insns[0])},
		license:  bpfPtr{p: unsafe.Pointer(&license[0])},
	}
	fd, err := progLoad(&attr)
	if err == nil || errors.Is(err, unix.EPERM) {
		runtime.KeepAlive(insns)
		runtime.KeepAlive(license)
		return fd, err
	}
	log := make([]byte, 64<<10)
	attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), bpfPtr{p: unsafe.Pointer(&log[0])}
	if _, err2 := progLoad(&attr); err2 != nil {
		if n := bytes.IndexByte(log, 0); n > 0 {
			err = fmt.Errorf("%w: verifier: %s", err, bytes.TrimSpace(log[:n]))
		}
	}
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	return -1, err
}

// attachedPrograms lists the ids of the device programs on cgroup fd.
func attachedPrograms(fd int) ([]uint32, error) {
	ids := make([]uint32, 64) // BPF_CGROUP_MAX_PROGS
	attr := queryAttr{targetFd: uint32(fd), attachType: unix.BPF_CGROUP_DEVICE,
		progIDs: bpfPtr{p: unsafe.Pointer(&ids[0])}, progCnt: uint32(len(ids))}
	_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if err != nil {
		return nil, err
	}
	return ids[:min(int(attr.progCnt), len(ids))], nil
}

// attachDevices loads the program for rules and attaches it to the cgroup
// dir, then detaches the programs that were there before, so the new rules
// replace the old without a moment of no filter. BPF_PROG_ATTACH (not a
// bpf_link) keeps the program attached after this process exits.
func attachDevices(dir string, rules []devRule) error {
	prog, err := loadProgram(deviceProgram(rules))
	if err != nil {
		return fmt.Errorf("load device filter: %w", err)
	}
	defer unix.Close(prog)
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	old, err := attachedPrograms(fd)
	if err != nil {
		return fmt.Errorf("query device filters of %s: %w", dir, err)
	}
	attr := attachAttr{targetFd: uint32(fd), attachBpfFd: uint32(prog),
		attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	var errs []error
	for _, id := range old {
		errs = append(errs, detach(fd, id))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replace device filter of %s: %w", dir, err)
	}
	return nil
}

func detach(fd int, id uint32) error {
	get := getFdAttr{id: id}
	p, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&get), unsafe.Sizeof(get))
	if errors.Is(err, unix.ENOENT) {
		return nil // detached and freed meanwhile
	}
	if err != nil {
		return fmt.Errorf("open program %d: %w", id, err)
	}
	defer unix.Close(p)
	attr := attachAttr{targetFd: uint32(fd), attachBpfFd: uint32(p), attachType: unix.BPF_CGROUP_DEVICE}
	if _, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return fmt.Errorf("detach program %d: %w", id, err)
	}
	return nil
}
