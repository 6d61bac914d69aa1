package server

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pier-engine/pier/internal/logfile"
)

// Docker's stdio streams on one connection: raw for a container with a
// tty (its terminal merged stdout and stderr already), else multiplexed
// as stdcopy frames, each an 8-byte header (stream id, three zero bytes,
// big-endian payload length) then the payload. Logs, attach and exec all
// write through outputStreams.

// Stream ids of the multiplexed stream.
const (
	streamStdout = 1
	streamStderr = 2
)

// streamType is the Content-Type of the raw or the multiplexed stream.
func streamType(raw bool) string {
	if raw {
		return "application/vnd.docker.raw-stream"
	}
	return "application/vnd.docker.multiplexed-stream"
}

// outputStreams returns the writers of a client's stdout and stderr on w
// (nil for one it did not ask for): raw with tty, else stdcopy frames.
// Each write is sent at once (flush): a terminal's prompt has no newline
// to wait for, and a follower wants each line as it comes.
func outputStreams(w io.Writer, flush func() error, tty, stdout, stderr bool) (io.Writer, io.Writer) {
	m := &frameMux{w: w, flush: flush, raw: tty}
	var out, errw io.Writer
	if stdout {
		out = &frameStream{m: m, id: streamStdout}
	}
	if stderr {
		errw = &frameStream{m: m, id: streamStderr}
	}
	return out, errw
}

// frameMux writes the writes of several streams on one connection, one
// whole frame at a time: stdout and stderr are copied concurrently.
type frameMux struct {
	w     io.Writer
	flush func() error
	raw   bool

	mu sync.Mutex // serializes frames on w
}

type frameStream struct {
	m  *frameMux
	id byte
}

func (f *frameStream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if !f.m.raw {
		var hdr [8]byte
		hdr[0] = f.id
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
		if _, err := f.m.w.Write(hdr[:]); err != nil {
			return 0, err
		}
	}
	if _, err := f.m.w.Write(p); err != nil {
		return 0, err
	}
	return len(p), f.m.flush()
}

// httpFlush flushes a response that has not been hijacked.
func httpFlush(w http.ResponseWriter) func() error {
	return func() error {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	}
}

// entryWriter writes log entries to the stream of each, with its time
// first when stamps is set; entries of a stream whose writer is nil are
// left out.
type entryWriter struct {
	stdout, stderr io.Writer
	stamps         bool
}

func (e *entryWriter) entry(en logfile.Entry) error {
	var w io.Writer
	switch en.Stream {
	case "stdout":
		w = e.stdout
	case "stderr":
		w = e.stderr
	}
	if w == nil {
		return nil
	}
	payload := en.Line
	if e.stamps {
		payload = append([]byte(en.Time.UTC().Format(time.RFC3339Nano)+" "), en.Line...)
	}
	_, err := w.Write(payload)
	return err
}

// hijackedStreams are the client's stdin and the writers of its output
// on a hijacked connection.
func hijackedStreams(buf *bufio.ReadWriter, tty, stdin, stdout, stderr bool) (io.Reader, io.Writer, io.Writer) {
	var in io.Reader
	if stdin {
		in = buf.Reader
	}
	out, errw := outputStreams(buf.Writer, buf.Writer.Flush, tty, stdout, stderr)
	return in, out, errw
}

// writeAttachHead answers an attach or an exec start on a hijacked
// connection as dockerd does: 101 for a client that asked to upgrade,
// else 200, then the stream.
func writeAttachHead(w *bufio.Writer, r *http.Request, raw bool) error {
	// Clients before API 1.42 expect raw-stream as the type of both.
	ct := streamType(raw || compareVersions(requestVersion(r), "1.42") < 0)
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		fmt.Fprintf(w, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ct)
	} else {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", ct)
	}
	return w.Flush()
}
