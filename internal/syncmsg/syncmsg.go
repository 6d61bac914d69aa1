// Package syncmsg is the conversation between pier-runtime and the container
// process it starts, once the C preamble has handed over to Go: newline
// separated JSON messages on the bootstrap socket.
//
//	runtime                          container init (create)
//	Config ------------------------> mounts prepared
//	        <----------------------- Hooks      (run createRuntime)
//	Continue ----------------------> createContainer hooks, pivot_root, ...
//	        <----------------------- Ready      (blocks on the exec fifo)
//
// An exec'd process sends Ready once its process is prepared. Either side
// may send Error instead; the runtime then kills the child and undoes
// everything it made.
package syncmsg

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Message types.
const (
	TypeConfig   = "config"
	TypeHooks    = "hooks"
	TypeContinue = "continue"
	TypeReady    = "ready"
	TypeError    = "error"
)

// Message is one line of the conversation.
type Message struct {
	Type   string      `json:"type"`
	Config *InitConfig `json:"config,omitempty"`
	Error  string      `json:"error,omitempty"`
	Errno  int         `json:"errno,omitempty"`
}

// InitConfig is everything the container process needs to finish the
// container (or, with Exec set, an exec'd process) before execve.
type InitConfig struct {
	ID           string         `json:"id"`
	Bundle       string         `json:"bundle"`
	Rootfs       string         `json:"rootfs"`
	Spec         *specs.Spec    `json:"spec"`
	Process      *specs.Process `json:"process"`
	Exec         bool           `json:"exec,omitempty"`
	NoPivot      bool           `json:"noPivot,omitempty"`
	NoNewKeyring bool           `json:"noNewKeyring,omitempty"`
	UserNS       bool           `json:"userNS,omitempty"`
	// NewCgroupNS: unshare the cgroup namespace first thing, now that the
	// runtime has placed the process in its cgroup.
	NewCgroupNS bool `json:"newCgroupNS,omitempty"`
	// SharedMountNS: the config has no mount namespace of its own.
	SharedMountNS bool `json:"sharedMountNS,omitempty"`
	PreserveFds   int  `json:"preserveFds,omitempty"`
	// Fds inherited by the child; -1 when absent.
	FifoFd    int `json:"fifoFd"`
	ConsoleFd int `json:"consoleFd"`
	// CgroupNSFd is a cgroup namespace to join first thing, once in the
	// cgroup (the preamble leaves cgroup namespaces alone).
	CgroupNSFd int `json:"cgroupNSFd"`
	// State handed to createContainer and startContainer hooks.
	State *specs.State `json:"state,omitempty"`
}

// Conn frames messages on a stream.
type Conn struct {
	r *bufio.Reader
	w io.Writer
}

// New wraps rw, normally the bootstrap socket.
func New(rw io.ReadWriter) *Conn {
	return &Conn{r: bufio.NewReader(rw), w: rw}
}

// Send writes one message.
func (c *Conn) Send(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	if _, err := c.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("send %s message: %w", m.Type, err)
	}
	return nil
}

// SendError reports err to the other side, keeping its errno when it has one.
func (c *Conn) SendError(err error) error {
	m := Message{Type: TypeError, Error: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m.Errno = int(errno)
	}
	return c.Send(m)
}

// Recv reads one message. An Error message is returned as a Go error that
// wraps its errno.
func (c *Conn) Recv() (Message, error) {
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Message{}, io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	var m Message
	if err := json.Unmarshal(line, &m); err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	if m.Type == TypeError {
		return m, &RemoteError{Text: m.Error, Errno: syscall.Errno(m.Errno)}
	}
	return m, nil
}

// RemoteError is an error the other side reported; its text already names
// the failed operation, and errors.Is sees its errno.
type RemoteError struct {
	Text  string
	Errno syscall.Errno
}

func (e *RemoteError) Error() string { return e.Text }

// Unwrap exposes the errno, if the other side had one.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Expect reads one message and fails unless it has type want.
func (c *Conn) Expect(want string) (Message, error) {
	m, err := c.Recv()
	if err != nil {
		return m, err
	}
	if m.Type != want {
		return m, fmt.Errorf("protocol: got %q message, want %q", m.Type, want)
	}
	return m, nil
}
