package logfile

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkWrite measures Write of 100-byte lines with default rotation.
func BenchmarkWrite(b *testing.B) {
	w, _ := openTest(b, Options{})
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	now := time.Now()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write("stdout", line, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteParallel has stdout and stderr copiers contend for one Writer.
func BenchmarkWriteParallel(b *testing.B) {
	w, _ := openTest(b, Options{})
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	b.SetBytes(int64(len(line)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write("stderr", line, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
