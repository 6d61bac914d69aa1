package nsenter

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The C init's plan (nsenter.h, cinit.c): what the container's process
// does between the clone and execve, every decision already taken by the
// runtime in Go. The C side executes the operations in order, one stage
// function each, and never parses a config.
const (
	PlanMagic   = 0x4e414c50
	PlanVersion = 1
	PlanMax     = 8 << 20
)

// Op is one operation of a plan; the numbers are nsenter.h's PIER_OP_*.
type Op uint32

const (
	OpCgroupNSJoin Op = iota + 1
	OpCgroupNSNew
	OpSetsid
	OpKeyring
	OpOOMScore
	OpMount
	OpMountInRoot
	OpRemountInRoot
	OpPropagateInRoot
	OpSetattrInRoot
	OpMknodInRoot
	OpSymlinkInRoot
	OpMkdirInRoot
	OpHostname
	OpDomainname
	OpSyncHooks
	OpPivot
	OpReadonly
	OpMask
	OpRemountKeeping
	OpProcClone
	OpSysctl
	OpChdir
	OpArgs
	OpEnv
	OpLookPath
	OpReady
	OpWaitFifo
	OpCloseFrom
	OpRlimit
	OpSeccomp
	OpCapBset
	OpUser
	OpCapset
	OpNNP
	OpUmask
	OpPersonality
	OpExec
)

// Pivot kinds of OpPivot.
const (
	PivotRoot   = 0
	PivotMove   = 1
	PivotChroot = 2
)

// Plan is an encoded list of operations under construction.
type Plan struct {
	body []byte
	n    int
	err  error
}

// Add appends op with its numeric arguments and text arguments. Text may
// not contain NUL (the C side reads each as a C string).
func (p *Plan) Add(op Op, args [4]uint64, text ...string) {
	for _, s := range text {
		if strings.IndexByte(s, 0) >= 0 && p.err == nil {
			p.err = fmt.Errorf("plan: operation %d: text %q holds a NUL byte", op, s)
		}
	}
	p.header(op, len(text), args)
	for _, s := range text {
		p.body = binary.LittleEndian.AppendUint32(p.body, uint32(len(s)+1))
		p.body = append(append(p.body, s...), 0)
	}
}

// AddBytes appends op with one binary argument (a BPF program, a list of
// group ids), passed as it is.
func (p *Plan) AddBytes(op Op, args [4]uint64, b []byte) {
	p.header(op, 1, args)
	p.body = binary.LittleEndian.AppendUint32(p.body, uint32(len(b)))
	p.body = append(p.body, b...)
}

func (p *Plan) header(op Op, nstr int, args [4]uint64) {
	p.n++
	p.body = binary.LittleEndian.AppendUint32(p.body, uint32(op))
	p.body = binary.LittleEndian.AppendUint32(p.body, uint32(nstr))
	for _, a := range args {
		p.body = binary.LittleEndian.AppendUint64(p.body, a)
	}
}

// Len is the number of operations so far.
func (p *Plan) Len() int { return p.n }

// Encode returns the plan as the C init reads it.
func (p *Plan) Encode() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	if len(p.body) > PlanMax {
		return nil, fmt.Errorf("plan: %d bytes, at most %d", len(p.body), PlanMax)
	}
	out := make([]byte, 0, 16+len(p.body))
	for _, v := range []uint32{PlanMagic, PlanVersion, uint32(len(p.body)), uint32(p.n)} {
		out = binary.LittleEndian.AppendUint32(out, v)
	}
	return append(out, p.body...), nil
}
