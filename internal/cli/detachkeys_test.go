package cli

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{16, 17}},
		{"ctrl-p,ctrl-q", []byte{16, 17}},
		{"ctrl-a", []byte{1}},
		{"ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", []byte{0, 27, 28, 29, 30, 31}},
		{"a,b,C", []byte("abC")},
		{"CTRL-Z,x", []byte{26, 'x'}},
	} {
		got, err := parseDetachKeys(c.in)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("parseDetachKeys(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "ab", "ctrl-p,", ",", "ctrl-pq", "shift-a"} {
		if got, err := parseDetachKeys(bad); err == nil {
			t.Errorf("parseDetachKeys(%q) = %v, want an error", bad, got)
		}
	}
}

func readAllEscape(r io.Reader, keys []byte) (string, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, newEscapeReader(r, keys))
	return out.String(), err
}

func TestEscapeReader(t *testing.T) {
	keys := []byte{16, 17}
	for _, c := range []struct {
		name, in, want string
		detached       bool
	}{
		{"plain", "ls -l\n", "ls -l\n", false},
		{"detach", "echo hi\n\x10\x11", "echo hi\n", true},
		{"input after detach is dropped", "a\x10\x11b", "a", true},
		{"lone ctrl-p goes through", "a\x10b", "a\x10b", false},
		{"ctrl-p twice then q", "\x10\x10\x11", "\x10", true},
		{"held ctrl-p at EOF goes out", "a\x10", "a\x10", false},
		{"ctrl-q alone", "\x11", "\x11", false},
	} {
		for _, mode := range []string{"whole", "byte at a time"} {
			var r io.Reader = bytes.NewReader([]byte(c.in))
			if mode != "whole" {
				r = iotest.OneByteReader(r)
			}
			got, err := readAllEscape(r, keys)
			if got != c.want || errors.Is(err, errDetached) != c.detached || (err != nil && !c.detached) {
				t.Errorf("%s (%s): got %q, %v; want %q, detached %v", c.name, mode, got, err, c.want, c.detached)
			}
		}
	}
	// A one-key sequence.
	if got, err := readAllEscape(bytes.NewReader([]byte("ab~c")), []byte("~")); got != "ab" || !errors.Is(err, errDetached) {
		t.Errorf("one key: %q, %v", got, err)
	}
	// A read error ends the stream with that error (a held prefix is not sent).
	r := io.MultiReader(bytes.NewReader([]byte("x\x10")), iotest.ErrReader(io.ErrUnexpectedEOF))
	if got, err := readAllEscape(r, keys); got != "x" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("failing reader: %q, %v", got, err)
	}
}

func TestEscapeReaderSmallBuffer(t *testing.T) {
	// A caller's buffer smaller than the input still gets all of it.
	e := newEscapeReader(bytes.NewReader([]byte("\x10abc")), []byte{16, 17})
	var out []byte
	p := make([]byte, 1)
	for {
		n, err := e.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			break
		}
	}
	if string(out) != "\x10abc" {
		t.Errorf("got %q", out)
	}
}
