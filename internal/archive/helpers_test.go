package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
)

func tarOf(t testing.TB, hdrs []*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func extract2(dst string, b []byte) error {
	return Extract(context.Background(), bytes.NewReader(b), dst, Options{})
}
