package logfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCRIFormatAndRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	opts, err := ParseOptions(map[string]string{"format": "cri", "max-size": "-1"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := w.Write("stdout", []byte("hello\npart"), ts); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stderr", []byte("after\n"), ts); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path + ".1")
	want := "2024-01-02T03:04:05.000000006Z stdout F hello\n2024-01-02T03:04:05.000000006Z stdout P part\n"
	if string(old) != want {
		t.Errorf("rotated file = %q, want %q", old, want)
	}
	cur, _ := os.ReadFile(path)
	if string(cur) != "2024-01-02T03:04:05.000000006Z stderr F after\n" {
		t.Errorf("new file = %q", cur)
	}
	if _, err := ParseOptions(map[string]string{"format": "xml"}); err == nil {
		t.Error("format=xml accepted")
	}
}
