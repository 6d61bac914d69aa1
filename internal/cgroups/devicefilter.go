package cgroups

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// deviceProgram compiles rules to a BPF_PROG_TYPE_CGROUP_DEVICE program.
// The context is struct bpf_cgroup_dev_ctx { u32 access_type (access<<16 |
// type); u32 major; u32 minor; }; returning 1 allows, 0 denies.
//
// Rules are emitted last first, so the first match in the program is the
// last match in the list, and the program returns at once; a rule that
// matches everything ends the program, since nothing before it can be
// reached. Falling off the end denies.
func deviceProgram(rules []devRule) asm.Instructions {
	const (
		rType   = asm.R2
		rAccess = asm.R3
		rMajor  = asm.R4
		rMinor  = asm.R5
		rTmp    = asm.R1
	)
	insns := asm.Instructions{
		asm.LoadMem(rType, asm.R1, 0, asm.Word),
		asm.And.Imm32(rType, 0xffff),
		asm.LoadMem(rAccess, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(rAccess, 16),
		asm.LoadMem(rMajor, asm.R1, 4, asm.Word),
		asm.LoadMem(rMinor, asm.R1, 8, asm.Word),
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		next := "deny"
		if i > 0 {
			next = fmt.Sprintf("rule%d", i-1)
		}
		var block asm.Instructions
		if r.typ != devAny {
			block = append(block, asm.JNE.Imm32(rType, int32(r.typ), next))
		}
		if r.major != -1 {
			block = append(block, asm.JNE.Imm32(rMajor, int32(uint32(r.major)), next))
		}
		if r.minor != -1 {
			block = append(block, asm.JNE.Imm32(rMinor, int32(uint32(r.minor)), next))
		}
		if r.allow && r.access != accAll {
			// Every requested bit must be in the rule: access & ^rule == 0.
			block = append(block,
				asm.Mov.Reg32(rTmp, rAccess),
				asm.And.Imm32(rTmp, int32(^r.access&accAll)),
				asm.JNE.Imm32(rTmp, 0, next))
		}
		if !r.allow && r.access != accAll {
			// Some requested bit must be in the rule: access & rule != 0.
			block = append(block,
				asm.Mov.Reg32(rTmp, rAccess),
				asm.And.Imm32(rTmp, int32(r.access)),
				asm.JEq.Imm32(rTmp, 0, next))
		}
		verdict := int32(0)
		if r.allow {
			verdict = 1
		}
		block = append(block, asm.Mov.Imm32(asm.R0, verdict), asm.Return())
		block[0] = block[0].WithSymbol(fmt.Sprintf("rule%d", i))
		insns = append(insns, block...)
		if len(block) == 2 {
			return insns // a catch-all: the rules before it are unreachable
		}
	}
	return append(insns, asm.Mov.Imm32(asm.R0, 0).WithSymbol("deny"), asm.Return())
}

// attachDevices loads the program for rules and attaches it to the cgroup
// dir, then detaches the programs that were there before, so the new rules
// replace the old without a moment of no filter. BPF_PROG_ATTACH (not a
// bpf_link) keeps the program attached after this process exits.
func attachDevices(dir string, rules []devRule) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.CGroupDevice,
		License:      "Apache-2.0",
		Instructions: deviceProgram(rules),
	})
	if err != nil {
		return fmt.Errorf("load device filter: %w", err)
	}
	defer prog.Close()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	old, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("query device filters of %s: %w", dir, err)
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	var errs []error
	for _, p := range old.Programs {
		errs = append(errs, detach(fd, p.ID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replace device filter of %s: %w", dir, err)
	}
	return nil
}

func detach(fd int, id ebpf.ProgramID) error {
	p, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open program %d: %w", id, err)
	}
	defer p.Close()
	err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: fd, Program: p, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("detach program %d: %w", id, err)
	}
	return nil
}
