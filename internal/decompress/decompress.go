// Package decompress opens plain, gzip and zstd tar streams, telling the
// format by its magic bytes. It is apart from internal/archive so that the
// pier CLI, which extracts archives but never decompresses one, does not
// link the compressors (their package inits cost every command ~0.4 ms).
package decompress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// ErrDecoderPanic wraps a panic of a decompressor, which pierd turns into
// the failure of the one request that fed it the data.
var ErrDecoderPanic = fmt.Errorf("decompressor panicked")

// Open returns the tar stream inside r, which may be plain, gzip or
// zstd compressed; the format is told by its magic bytes, as docker load and
// docker import do. Close releases the decoder, not r.
//
// Decoders have panicked on crafted input (GO-2026-6865), so a panic
// while decoding comes back as an error wrapping ErrDecoderPanic. zstd
// decodes synchronously, in the reader's goroutine, for that recover to
// see it: a panic in a decoder goroutine of its own would end the daemon.
func Open(r io.Reader) (rc io.ReadCloser, err error) {
	defer recoverDecoder(&err)
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read archive header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &safeReader{r: zr, close: zr.Close}, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &safeReader{r: zr, close: func() error { zr.Close(); return nil }}, nil
	default:
		return io.NopCloser(br), nil
	}
}

// safeReader turns a decoder's panic into an error; after one, every
// read fails.
type safeReader struct {
	r     io.Reader
	close func() error
	err   error
}

func (s *safeReader) Read(p []byte) (n int, err error) {
	if s.err != nil {
		return 0, s.err
	}
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("decompress: %w: %v", ErrDecoderPanic, v)
			s.err = err
		}
	}()
	return s.r.Read(p)
}

func (s *safeReader) Close() (err error) {
	defer recoverDecoder(&err)
	return s.close()
}

func recoverDecoder(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("decompress: %w: %v", ErrDecoderPanic, v)
	}
}
