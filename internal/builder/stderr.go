package builder

import "io"

// stderrWriter marks a RUN's standard error as dockerd's classic builder
// does (streamformatter's stderr writer): each write goes out whole,
// between the escapes for bright red and reset, so a terminal shows it in
// red and a client can tell it from standard output (docker-py's
// test_build_stderr_data looks for exactly that).
type stderrWriter struct{ w io.Writer }

func (s stderrWriter) Write(p []byte) (int, error) {
	msg := make([]byte, 0, len(p)+len(stderrOpen)+len(stderrClose))
	msg = append(append(append(msg, stderrOpen...), p...), stderrClose...)
	if _, err := s.w.Write(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

const (
	stderrOpen  = "\x1b[91m"
	stderrClose = "\x1b[0m"
)
