package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// defaultDetachKeys is docker's ctrl-p,ctrl-q.
var defaultDetachKeys = []byte{0x10, 0x11}

// errDetached ends a session whose user typed the detach keys; its text is
// the one docker prints when `attach` or `exec` detaches.
var errDetached = errors.New("read escape sequence")

// parseDetachKeys reads docker's --detach-keys format: a comma-separated
// list of keys, each a single character or "ctrl-<x>" with x one of a-z,
// @, [, \, ], ^, _. An empty string means the default.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return defaultDetachKeys, nil
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		b, err := detachKey(k)
		if err != nil {
			return nil, fmt.Errorf("Invalid detach keys (%s) provided: %w", s, err)
		}
		keys = append(keys, b)
	}
	return keys, nil
}

func detachKey(k string) (byte, error) {
	if len(k) == 1 {
		return k[0], nil
	}
	x, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-")
	if !ok || len(x) != 1 {
		return 0, fmt.Errorf("unknown character: %q", k)
	}
	switch c := x[0]; {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 1, nil
	case c == '@':
		return 0, nil
	case c >= '[' && c <= '_':
		return c - '[' + 27, nil
	}
	return 0, fmt.Errorf("unknown character: %q", k)
}

// escapeReader passes input through until it sees keys, which it swallows
// and then reports as errDetached. A prefix of keys is held back until the
// next byte shows whether the sequence goes on; if not, the held bytes go
// out as typed, so a lone ctrl-p still reaches the container.
type escapeReader struct {
	r    io.Reader
	keys []byte

	matched  int    // how many bytes of keys are held back
	pending  []byte // output not yet returned
	detached bool
}

func newEscapeReader(r io.Reader, keys []byte) *escapeReader {
	return &escapeReader{r: r, keys: keys}
}

func (e *escapeReader) Read(p []byte) (int, error) {
	for len(e.pending) == 0 {
		if e.detached {
			return 0, errDetached
		}
		buf := make([]byte, max(len(p), 1))
		n, err := e.r.Read(buf)
		e.scan(buf[:n])
		if err != nil {
			if err == io.EOF && !e.detached {
				// The sequence was not finished: what was held was input.
				e.pending = append(e.pending, e.keys[:e.matched]...)
				e.matched = 0
			}
			if len(e.pending) == 0 {
				if e.detached {
					return 0, errDetached
				}
				return 0, err
			}
			break
		}
	}
	n := copy(p, e.pending)
	e.pending = e.pending[n:]
	return n, nil
}

// scan moves input to pending, holding back a prefix of keys; bytes after
// a complete sequence are dropped, as the session ends there.
func (e *escapeReader) scan(in []byte) {
	for _, b := range in {
		if e.detached {
			return
		}
		if b == e.keys[e.matched] {
			e.matched++
			if e.matched == len(e.keys) {
				e.detached = true
			}
			continue
		}
		e.pending = append(e.pending, e.keys[:e.matched]...)
		e.matched = 0
		if b == e.keys[0] {
			e.matched = 1
			if len(e.keys) == 1 {
				e.detached = true
			}
			continue
		}
		e.pending = append(e.pending, b)
	}
}
