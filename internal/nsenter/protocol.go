package nsenter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// These mirror nsenter.h; nsenter_test.go checks that they agree.
const (
	BootstrapEnv     = "_PIER_BOOTSTRAP_FD"
	BootstrapMagic   = 0x52454950
	BootstrapVersion = 1
	MaxJoin          = 10
	MaxCgroup        = 16
	MaxPath          = 4096
	MaxTimens        = 512

	CgroupTasks = 1 // a v1 directory whose tasks file the process writes "0" to
	CgroupV2Dir = 2 // the v2 directory the clone lands in

	MsgUsermap    = 1
	MsgUsermapAck = 2
	MsgPID        = 3
	MsgError      = 4
	MsgHooks      = 5 // C init: mounts done, run createRuntime hooks
	MsgContinue   = 6 // runtime: hooks done
	MsgReady      = 7 // C init: set up, waiting for start (or, for exec, about to exec)

	// What ps shows for the preamble's process and for the container's
	// process before it execs the program (argv[0], and comm, which the
	// kernel cuts at 15 characters). The runtime starts the preamble with
	// NamePreamble as argv[0]; the clone renames itself in that room.
	NamePreamble = "pier-runtime:[preamble]"
	NameInit     = "pier-runtime:[init]"
	CommPreamble = "pier:[preamble]"
	CommInit     = "pier:[init]"

	replyText = 244
	// ReplySize is sizeof(struct pier_reply).
	ReplySize = 12 + replyText
)

// Join names a namespace to enter by path.
type Join struct {
	Type uint32 // CLONE_NEW* constant
	Path string
}

// Cgroup names a cgroup to enter, the fast way (see nsenter.c).
type Cgroup struct {
	Kind uint32 // CgroupTasks or CgroupV2Dir
	Path string
}

// Bootstrap is the one message the runtime sends the preamble.
type Bootstrap struct {
	CloneFlags uint32   // namespaces to create
	Join       []Join   // namespaces to enter, in any order (user goes first)
	Cgroups    []Cgroup // cgroups to enter before any namespace
	Timens     string   // contents for /proc/self/timens_offsets, or ""
	// CInit: the clone reads a Plan and runs the C init (cinit.c)
	// instead of going on into Go's `pier-runtime init`.
	CInit bool
}

// Encode renders b in the preamble's wire format.
func (b *Bootstrap) Encode() ([]byte, error) {
	if len(b.Join) > MaxJoin {
		return nil, fmt.Errorf("bootstrap: %d namespaces to join, at most %d", len(b.Join), MaxJoin)
	}
	if len(b.Cgroups) > MaxCgroup {
		return nil, fmt.Errorf("bootstrap: %d cgroups, at most %d", len(b.Cgroups), MaxCgroup)
	}
	if len(b.Timens) >= MaxTimens {
		return nil, fmt.Errorf("bootstrap: time offsets of %d bytes, at most %d", len(b.Timens), MaxTimens-1)
	}
	var buf bytes.Buffer
	cinit := uint32(0)
	if b.CInit {
		cinit = 1
	}
	hdr := [7]uint32{BootstrapMagic, BootstrapVersion, b.CloneFlags, uint32(len(b.Join)), uint32(len(b.Timens)), uint32(len(b.Cgroups)), cinit}
	_ = binary.Write(&buf, binary.LittleEndian, hdr)
	entry := func(typ uint32, path string) error {
		if len(path) >= MaxPath || strings.IndexByte(path, 0) >= 0 {
			return fmt.Errorf("bootstrap: bad path %q", path)
		}
		_ = binary.Write(&buf, binary.LittleEndian, [2]uint32{typ, uint32(len(path))})
		buf.WriteString(path)
		return nil
	}
	for _, j := range b.Join {
		if err := entry(j.Type, j.Path); err != nil {
			return nil, err
		}
	}
	for _, c := range b.Cgroups {
		if err := entry(c.Kind, c.Path); err != nil {
			return nil, err
		}
	}
	buf.WriteString(b.Timens)
	return buf.Bytes(), nil
}

// Reply is one message from the preamble.
type Reply struct {
	Type uint32
	PID  int
	Err  syscall.Errno
	Text string
}

// ReadReply reads one fixed-size reply.
func ReadReply(r io.Reader) (Reply, error) {
	var raw [ReplySize]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return Reply{}, fmt.Errorf("read preamble reply: %w", err)
	}
	le := binary.LittleEndian
	text := raw[12:]
	if i := bytes.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return Reply{
		Type: le.Uint32(raw[0:]),
		PID:  int(int32(le.Uint32(raw[4:]))),
		Err:  syscall.Errno(int32(le.Uint32(raw[8:]))),
		Text: string(text),
	}, nil
}

// AsError turns an error reply into a Go error wrapping its errno.
func (r Reply) AsError() error {
	if r.Type != MsgError {
		return nil
	}
	if r.Err == 0 {
		return errors.New(r.Text)
	}
	return fmt.Errorf("%s: %w", r.Text, r.Err)
}

// UsermapAck is the parent's acknowledgement once the id maps are written.
func UsermapAck() []byte { return control(MsgUsermapAck) }

// Continue tells the C init that the createRuntime hooks are done.
func Continue() []byte { return control(MsgContinue) }

func control(typ uint32) []byte {
	var raw [ReplySize]byte
	binary.LittleEndian.PutUint32(raw[0:], typ)
	return raw[:]
}
