package logfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

func openTest(t testing.TB, opts Options) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctr-json.log")
	w, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

func readAll(t *testing.T, path string, opts ReadOptions) []Entry {
	t.Helper()
	var got []Entry
	err := Read(context.Background(), path, opts, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

func lines(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, string(e.Line))
	}
	return s
}

// writeNumbered writes "<prefix> <i>\n" for i in [from, to), a second apart.
func writeNumbered(t testing.TB, w *Writer, stream, prefix string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := w.Write(stream, fmt.Appendf(nil, "%s %d\n", prefix, i), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

func numbered(prefix string, from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("%s %d\n", prefix, i))
	}
	return s
}

func TestWriteFile(t *testing.T) {
	w, path := openTest(t, Options{})
	if err := w.Write("stdout", []byte("one\ntwo\nthr"), t0); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stderr", []byte("ee\n"), t0); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := `{"log":"one\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
{"log":"two\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
{"log":"thr","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
{"log":"ee\n","stream":"stderr","time":"2026-01-02T03:04:05.123456789Z"}
`
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	if err := w.Write("stdin", []byte("x\n"), t0); err == nil {
		t.Error("Write to stream stdin: no error")
	}
	w.Close()
	if err := w.Write("stdout", []byte("x\n"), t0); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestLongLineSplit(t *testing.T) {
	w, path := openTest(t, Options{})
	long := strings.Repeat("0123456789", 4000) + "\n" // 40001 bytes
	if err := w.Write("stdout", []byte(long), t0); err != nil {
		t.Fatal(err)
	}
	got := lines(readAll(t, path, ReadOptions{Tail: -1}))
	want := []string{long[:MaxLine], long[MaxLine : 2*MaxLine], long[2*MaxLine:]}
	if !slices.Equal(got, want) {
		t.Errorf("got %d pieces, want 3 of %d, %d, %d bytes", len(got), MaxLine, MaxLine, len(long)-2*MaxLine)
	}
	if strings.Join(got, "") != long {
		t.Error("pieces do not add up to the line")
	}
}

func TestStreamBuffersPartialLines(t *testing.T) {
	w, path := openTest(t, Options{})
	s := NewStream(w, "stderr")
	s.Now = func() time.Time { return t0 }
	long := strings.Repeat("y", MaxLine+5)
	for _, p := range []string{"hel", "lo\nwor", "ld\n", long[:100], long[100:] + "\nprompt> "} {
		if n, err := s.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	before := lines(readAll(t, path, ReadOptions{Tail: -1}))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, path, ReadOptions{Tail: -1})
	want := []string{"hello\n", "world\n", long[:MaxLine], "yyyyy\n", "prompt> "}
	if !slices.Equal(before, want[:4]) || !slices.Equal(lines(got), want) {
		t.Errorf("before Close %q, after %q; want %q", before, lines(got), want)
	}
	if got[0].Stream != "stderr" || !got[0].Time.Equal(t0) {
		t.Errorf("entry %+v", got[0])
	}
}

func TestRotationKeepsMaxFilesAndNewestData(t *testing.T) {
	const maxSize = 1000
	w, path := openTest(t, Options{MaxSize: maxSize, MaxFiles: 3})
	writeNumbered(t, w, "stdout", "line", 0, 200)
	names := testutil.DirNames(t, filepath.Dir(path))
	if want := []string{"ctr-json.log", "ctr-json.log.1", "ctr-json.log.2"}; !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	for _, n := range names {
		if st, _ := os.Stat(filepath.Join(filepath.Dir(path), n)); st.Size() > maxSize {
			t.Errorf("%s is %d bytes, over max-size %d", n, st.Size(), maxSize)
		}
	}
	got := lines(readAll(t, path, ReadOptions{Tail: -1}))
	if len(got) < 20 || !slices.Equal(got, numbered("line", 200-len(got), 200)) {
		t.Errorf("kept %d lines, not the newest in order: %q", len(got), got)
	}
}

func TestOpenCleansUpAfterEarlierRuns(t *testing.T) {
	w, path := openTest(t, Options{MaxSize: 500, MaxFiles: 5})
	writeNumbered(t, w, "stdout", "a", 0, 50)
	w.Close()
	// A record cut short by a crash, then a reopen with fewer files.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"log":"cut sh`)
	f.Close()
	w2, err := Open(path, Options{MaxSize: 500, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if names := testutil.DirNames(t, filepath.Dir(path)); len(names) != 2 {
		t.Errorf("files after reopen with max-file 2: %v", names)
	}
	writeNumbered(t, w2, "stdout", "b", 0, 1)
	// The damaged line counts towards Tail (counting is by lines) but is
	// not returned.
	got := lines(readAll(t, path, ReadOptions{Tail: 3}))
	if !slices.Equal(got, []string{"a 49\n", "b 0\n"}) {
		t.Errorf("tail after a damaged line: %q", got)
	}
}

func TestMaxFilesOne(t *testing.T) {
	w, path := openTest(t, Options{MaxSize: 300, MaxFiles: 1})
	writeNumbered(t, w, "stdout", "x", 0, 30)
	if names := testutil.DirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("files %v, want one", names)
	}
	got := lines(readAll(t, path, ReadOptions{Tail: -1}))
	if len(got) == 0 || !slices.Equal(got, numbered("x", 30-len(got), 30)) {
		t.Errorf("kept %q", got)
	}
}
