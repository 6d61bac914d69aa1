package daemon

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string]string{"": "\x10\x11", "ctrl-p,ctrl-q": "\x10\x11", "a,ctrl-@": "a\x00", "ctrl-X": "\x18"} {
		got, err := parseDetachKeys(in)
		if err != nil || string(got) != want {
			t.Errorf("parseDetachKeys(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-", "ctrl-pp", "alt-x", "ab"} {
		if _, err := parseDetachKeys(bad); err == nil {
			t.Errorf("parseDetachKeys(%q) accepted", bad)
		}
	}
}

// oneByte reads one byte at a time, as a typing user sends them.
type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

func TestDetachReader(t *testing.T) {
	cases := []struct {
		in, out  string
		detached bool
	}{
		{"echo hi\n", "echo hi\n", false},
		{"ab\x10\x11cd", "ab", true},
		{"a\x10b\x10\x10\x11", "a\x10b\x10", true},
		{"x\x10", "x\x10", false},
	}
	for _, c := range cases {
		for _, slow := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.in)
			if slow {
				r = oneByte{r}
			}
			got, err := io.ReadAll(&detachReader{r: r, keys: []byte{0x10, 0x11}})
			if string(got) != c.out || errors.Is(err, errDetached) != c.detached {
				t.Errorf("%q (slow %v): read %q, %v; want %q, detached %v", c.in, slow, got, err, c.out, c.detached)
			}
		}
	}
}
