package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types of the attach socket's protocol (see the package doc).
const (
	FrameStdin  byte = 0 // client → monitor: bytes for the container's stdin
	FrameStdout byte = 1 // monitor → client: the container's stdout (all output with a tty)
	FrameStderr byte = 2 // monitor → client: the container's stderr
	FrameHello  byte = 3 // client → monitor, first and once: one byte of Attach* flags
	FrameResize byte = 4 // client → monitor: rows, cols as two big-endian uint16
	FrameEOF    byte = 5 // client → monitor: the client's stdin has ended
)

// Flags of a FrameHello: what the client wants.
const (
	AttachStdin  byte = 1
	AttachStdout byte = 2
	AttachStderr byte = 4
)

// frameHeader is a frame's type and big-endian payload length.
const frameHeader = 5

// maxFrame bounds a payload, so that a bad peer cannot make us allocate
// much: writers split larger data.
const maxFrame = 32 << 10

var errFrameTooBig = errors.New("attach frame too large")

// appendFrame is typ's frame of p (at most maxFrame bytes).
func appendFrame(dst []byte, typ byte, p []byte) []byte {
	var hdr [frameHeader]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	return append(append(dst, hdr[:]...), p...)
}

// writeFrames writes p as frames of typ, split at maxFrame.
func writeFrames(w io.Writer, typ byte, p []byte) error {
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), maxFrame)
		if _, err := w.Write(appendFrame(nil, typ, p[:n])); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// readFrame reads one frame into buf (grown as needed) and returns its
// type and payload, which is valid until the next call.
func readFrame(r io.Reader, buf *[]byte) (byte, []byte, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: %d bytes", errFrameTooBig, n)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	p := (*buf)[:n]
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("attach frame: %w", io.ErrUnexpectedEOF)
	}
	return hdr[0], p, nil
}

// resizePayload is a FrameResize's payload.
func resizePayload(rows, cols uint16) []byte {
	var p [4]byte
	binary.BigEndian.PutUint16(p[0:], rows)
	binary.BigEndian.PutUint16(p[2:], cols)
	return p[:]
}
