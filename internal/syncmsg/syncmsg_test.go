package syncmsg

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	c := New(&buf)
	if err := c.Send(Message{Type: TypeConfig, Config: &InitConfig{ID: "c1", FifoFd: 4, ConsoleFd: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendError(errorsWrap("mount proc", syscall.EPERM)); err != nil {
		t.Fatal(err)
	}
	m, err := c.Expect(TypeConfig)
	if err != nil || m.Config.ID != "c1" || m.Config.FifoFd != 4 {
		t.Fatalf("config: %+v %v", m, err)
	}
	_, err = c.Recv()
	if !errors.Is(err, syscall.EPERM) || err.Error() != "mount proc: operation not permitted" {
		t.Fatalf("error message lost its errno or text: %v", err)
	}
	if _, err := c.Recv(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("closed stream: %v", err)
	}
}

func TestExpectWrongType(t *testing.T) {
	var buf bytes.Buffer
	c := New(&buf)
	_ = c.Send(Message{Type: TypeHooks})
	if _, err := c.Expect(TypeReady); err == nil {
		t.Fatal("Expect accepted the wrong message type")
	}
}

func errorsWrap(what string, errno syscall.Errno) error {
	return &wrapped{what, errno}
}

type wrapped struct {
	what string
	err  error
}

func (w *wrapped) Error() string { return w.what + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
