package builder

import (
	"bytes"
	"testing"
)

// TestStderrWriter: each write of a RUN's standard error goes out whole,
// wrapped in dockerd's colour escapes, in one write.
func TestStderrWriter(t *testing.T) {
	var out writes
	w := stderrWriter{&out}
	if n, err := w.Write([]byte("oops\n")); n != 5 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if len(out) != 1 || out[0] != "\x1b[91moops\n\x1b[0m" {
		t.Errorf("writes = %q", out)
	}
}

// writes records each Write as one string.
type writes []string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, string(bytes.Clone(p)))
	return len(p), nil
}
