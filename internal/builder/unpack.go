package builder

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"

	"github.com/pier-engine/pier/internal/decompress"
)

var (
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// decompressor returns the stream inside br for ADD of a local archive:
// plain, gzip, bzip2, xz or zstd, told by magic bytes as dockerd tells
// them (one level only: a .tar.xz.gz stays a file). ok is false when br
// is compressed in a way it cannot read, so the file is copied as it is.
func decompressor(br *bufio.Reader) (r io.Reader, closeFn func(), ok bool) {
	magic, _ := br.Peek(len(xzMagic))
	switch {
	case bytes.HasPrefix(magic, bzip2Magic):
		return bzip2.NewReader(br), func() {}, true
	case bytes.HasPrefix(magic, xzMagic):
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, nil, false
		}
		return &recoverReader{r: xr}, func() {}, true
	}
	dr, err := decompress.Open(br)
	if err != nil {
		return nil, nil, false
	}
	return dr, func() { dr.Close() }, true
}

// recoverReader turns a decoder's panic on crafted input into a read
// error, as archive.Decompress does for its decoders.
type recoverReader struct{ r io.Reader }

func (rr *recoverReader) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("decompress: %w: %v", decompress.ErrDecoderPanic, v)
		}
	}()
	return rr.r.Read(p)
}
