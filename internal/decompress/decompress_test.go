package decompress

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// panicky yields its data, then panics as a broken decoder would.
type panicky struct{ data []byte }

func (p *panicky) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		panic("decoder bug")
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	return n, nil
}

// compressBoth returns forGzip gzip-compressed and forZstd
// zstd-compressed.
func compressBoth(forGzip, forZstd []byte) (gz, zs []byte) {
	var g, z bytes.Buffer
	gw := gzip.NewWriter(&g)
	gw.Write(forGzip)
	gw.Close()
	zw, _ := zstd.NewWriter(&z)
	zw.Write(forZstd)
	zw.Close()
	return g.Bytes(), z.Bytes()
}

// TestDecompressRecoversPanic feeds each decoder a stream whose reader
// panics mid-way: the panic must come back as ErrDecoderPanic from Read,
// not end the process.
func TestDecompressRecoversPanic(t *testing.T) {
	body := bytes.Repeat([]byte("pier layer "), 1<<16)
	gz, zs := compressBoth(body, body)
	for name, c := range map[string][]byte{"gzip": gz, "zstd": zs, "plain-header-only": {0x1f}} {
		t.Run(name, func(t *testing.T) {
			half := c[:len(c)/2+1]
			rc, err := Open(&panicky{data: append([]byte(nil), half...)})
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				if cerr := rc.Close(); err == nil {
					err = cerr
				}
			}
			if !errors.Is(err, ErrDecoderPanic) {
				t.Fatalf("err = %v, want ErrDecoderPanic", err)
			}
		})
	}
}

// TestDecompressRoundTrip checks that the wrapper changes nothing in the
// data of well-formed streams.
func TestDecompressRoundTrip(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 100000)
	gz, zs := compressBoth(body, body)
	for name, c := range map[string][]byte{"gzip": gz, "zstd": zs, "plain": body} {
		rc, err := Open(bytes.NewReader(c))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: %d bytes, err %v", name, len(got), err)
		}
	}
}

// FuzzDecompress feeds the decoders arbitrary streams: a decoder may
// reject them, but must neither panic (ErrDecoderPanic would hide it
// from pierd's users, not from this test) nor expand without bound.
func FuzzDecompress(f *testing.F) {
	gz, zs := compressBoth([]byte("a tar would be here"), bytes.Repeat([]byte("zstd "), 1000))
	f.Add(gz)
	f.Add(zs)
	f.Add([]byte("plain"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rc, err := Open(bytes.NewReader(b))
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(rc, 64<<20))
			rc.Close()
		}
		if errors.Is(err, ErrDecoderPanic) {
			t.Fatal(err)
		}
	})
}
