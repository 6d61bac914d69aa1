package logfile

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/pier-engine/pier/internal/errdefs"
)

// FormatCRI is the Kubernetes CRI log format, one line per record:
// "<RFC3339Nano time> <stream> <F|P> <text>\n", F for a whole line (its
// "\n" dropped) and P for a piece of a longer or unfinished one. The
// kubelet rotates these files itself (rename, then ReopenContainerLog):
// the writer never rotates them and opens a new file at the path once the
// old one has been renamed away.
const FormatCRI = "cri"

func parseFormat(val string) (string, error) {
	switch val {
	case "", "json-file":
		return "", nil
	case FormatCRI:
		return FormatCRI, nil
	}
	return "", fmt.Errorf("format %q: want json-file or cri: %w", val, errdefs.ErrInvalidArgument)
}

// appendCRIRecord appends one CRI log line for chunk.
func appendCRIRecord(buf []byte, stream string, chunk []byte, t time.Time) []byte {
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	if text, ok := bytes.CutSuffix(chunk, []byte{'\n'}); ok {
		buf = append(buf, " F "...)
		buf = append(buf, text...)
	} else {
		buf = append(buf, " P "...)
		buf = append(buf, chunk...)
	}
	return append(buf, '\n')
}

// followRename reopens the path when the open file is no longer there (the
// kubelet renamed it to rotate), so the next record starts the new file.
func (w *Writer) followRename() error {
	cur, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("stat log file %s: %w", w.path, err)
	}
	if st, err := os.Stat(w.path); err == nil && os.SameFile(cur, st) {
		return nil
	}
	_ = w.f.Close()
	w.f = nil
	return w.openCurrent()
}
