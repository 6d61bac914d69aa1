package monitor

import (
	"bytes"
	"net"
	"testing"
	"time"
)

func TestFrameRoundTrip(t *testing.T) {
	var b bytes.Buffer
	big := bytes.Repeat([]byte("x"), maxFrame+10)
	if err := writeFrames(&b, FrameStdin, big); err != nil {
		t.Fatal(err)
	}
	if err := writeFrames(&b, FrameEOF, nil); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	var got []byte
	for {
		typ, p, err := readFrame(&b, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if typ == FrameEOF {
			break
		}
		if typ != FrameStdin {
			t.Fatalf("frame type %d", typ)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, big) {
		t.Errorf("got %d bytes back, want %d", len(got), len(big))
	}
	b.Write([]byte{FrameStdin, 0xff, 0, 0, 0})
	if _, _, err := readFrame(&b, &buf); err == nil {
		t.Error("a 4 GiB frame was accepted")
	}
}

// A client that does not read is dropped; broadcast never blocks.
func TestSlowClientIsDropped(t *testing.T) {
	h := &hub{clients: map[*client]struct{}{}, joined: make(chan struct{}, 1)}
	slow, peer := net.Pipe() // synchronous: nobody reads peer
	defer peer.Close()
	c := &client{conn: slow, flags: AttachStdout, out: make(chan []byte, clientQueue)}
	if !h.add(c) {
		t.Fatal("add refused")
	}
	done := make(chan struct{})
	go func() {
		for range clientQueue * 4 {
			h.broadcast(FrameStdout, []byte("output\n"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("broadcast blocked on a slow client")
	}
	h.mu.Lock()
	n := len(h.clients)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d clients left, want the slow one dropped", n)
	}
	h.writers.Wait()
}
