package server

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
)

func TestOutputStreamsFramesReadByStdCopy(t *testing.T) {
	var buf bytes.Buffer
	flushes := 0
	out, errw := outputStreams(&buf, func() error { flushes++; return nil }, false, true, true)
	var wg sync.WaitGroup
	for i, w := range []io.Writer{out, errw} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				fmt.Fprintf(w, "%d-%d\n", i, j)
			}
		}()
	}
	wg.Wait()
	// Frames interleave whole: docker's own reader splits them back.
	var gotOut, gotErr strings.Builder
	if _, err := stdcopy.StdCopy(&gotOut, &gotErr, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Count(gotOut.String(), "0-") != 50 || strings.Count(gotErr.String(), "1-") != 50 ||
		strings.Contains(gotOut.String(), "1-") {
		t.Errorf("stdout %q\nstderr %q", gotOut.String(), gotErr.String())
	}
	if flushes != 100 {
		t.Errorf("flushes = %d, want one per write", flushes)
	}
}

func TestOutputStreamsRawAndUnwanted(t *testing.T) {
	var buf bytes.Buffer
	out, errw := outputStreams(&buf, func() error { return nil }, true, true, false)
	if errw != nil {
		t.Errorf("stderr writer for a client that did not ask for it")
	}
	fmt.Fprint(out, "prompt$ ")
	if buf.String() != "prompt$ " {
		t.Errorf("raw = %q", buf.String())
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
		"1700000000.000000001": time.Unix(1700000000, 1),
		"0":                    time.Unix(0, 0),
	} {
		if got, err := parseTimestamp(in); err != nil || !got.Equal(want) {
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "1.x", "2024-01-01T00:00:00Z"} {
		if _, err := parseTimestamp(bad); err == nil || StatusOf(err) != 400 {
			t.Errorf("parseTimestamp(%q) = %v, want a 400", bad, err)
		}
	}
}
