package daemon

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// defaultDetachKeys is Docker's: ctrl-p, ctrl-q.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// errDetached ends an attach whose client typed the detach keys.
var errDetached = errors.New("detached")

// parseDetachKeys turns Docker's detach key list ("ctrl-p,ctrl-q", "a",
// "ctrl-@") into the bytes a terminal sends for it; "" is the default.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = defaultDetachKeys
	}
	var out []byte
	for _, key := range strings.Split(s, ",") {
		if len(key) == 1 {
			out = append(out, key[0])
			continue
		}
		k, ok := strings.CutPrefix(strings.ToLower(key), "ctrl-")
		if !ok || len(k) != 1 || !(k[0] >= 'a' && k[0] <= 'z' || strings.ContainsRune("@[\\]^_", rune(k[0]))) {
			return nil, fmt.Errorf("Invalid detach keys (%s) provided: %w", s, errdefs.ErrInvalidArgument)
		}
		c := k[0]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out = append(out, c&0x1f) // ctrl-A is 1, ctrl-@ 0
	}
	return out, nil
}

// detachReader passes r through until the detach keys have been read in
// a row, then returns errDetached. A partial match is held back until the
// next byte shows whether it completes the sequence (then it is dropped)
// or not (then it goes through).
type detachReader struct {
	r       io.Reader
	keys    []byte
	matched int    // how many of keys the bytes read last matched
	pending []byte // bytes to give back before reading more
}

func (d *detachReader) Read(p []byte) (int, error) {
	if len(d.pending) > 0 {
		n := copy(p, d.pending)
		d.pending = d.pending[n:]
		return n, nil
	}
	buf := make([]byte, len(p))
	n, err := d.r.Read(buf)
	out := p[:0]
	for _, b := range buf[:n] {
		if b == d.keys[d.matched] {
			d.matched++
			if d.matched == len(d.keys) {
				return copy(p, out), errDetached
			}
			continue
		}
		if d.matched > 0 {
			// What looked like the sequence was not: let it through.
			out = append(out, d.keys[:d.matched]...)
			d.matched = 0
			if b == d.keys[0] {
				d.matched = 1
				continue
			}
		}
		out = append(out, b)
	}
	if err != nil && d.matched > 0 {
		out = append(out, d.keys[:d.matched]...) // the input ended mid-sequence
		d.matched = 0
	}
	if len(out) > len(p) {
		d.pending = append(d.pending, out[len(p):]...)
		out = out[:len(p)]
	}
	m := copy(p, out)
	if m == 0 && err == nil {
		return d.Read(p) // all held back: wait for more
	}
	return m, err
}
