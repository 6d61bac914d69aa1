package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
)

// BenchmarkExtractContext receives a context of one 50 MB file, as
// bench/build's workload (b) sends it, in reads of a socket's size.
func BenchmarkExtractContext(b *testing.B) {
	data := make([]byte, 50_000_000)
	_, _ = rand.Read(data)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: 5})
	_, _ = tw.Write([]byte("FROM "))
	_ = tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	tmp := b.TempDir()
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		c, err := extractContext(context.Background(), smallReads{bytes.NewReader(buf.Bytes())}, tmp)
		if err != nil {
			b.Fatal(err)
		}
		if len(c.sums) != 2 {
			b.Fatalf("sums %v", c.sums)
		}
		c.close()
	}
}

// smallReads returns at most 64 KiB a read, as a socket does.
type smallReads struct{ r io.Reader }

func (s smallReads) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	return s.r.Read(p)
}

// BenchmarkExtractContextSmall receives a context of two tiny files, a
// rebuild's usual case: buffers must not cost more than the files.
func BenchmarkExtractContextSmall(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range []string{"Dockerfile", "file"} {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 5})
		_, _ = tw.Write([]byte("FROM "))
	}
	_ = tw.Close()
	tmp := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		c, err := extractContext(context.Background(), bytes.NewReader(buf.Bytes()), tmp)
		if err != nil {
			b.Fatal(err)
		}
		c.close()
	}
}
