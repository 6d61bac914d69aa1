package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// Names and link targets the fuzzer combines; "$OUT" is the sandbox's
// outside directory, so absolute names can aim at real files.
var fuzzNames = []string{
	"a", "a/b", "a/b/c", "l", "l/secret", "l/new", "../outside/secret", "../../x",
	"/abs/f", "$OUT/secret", "$OUT", ".wh.a", "a/.wh..wh..opq", "l/.wh.secret",
	".", "..", "/", "a/../../outside/y", ".wh..wh.plnk", "b",
}

var fuzzTypes = []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar}

// decodeFuzz turns fuzz bytes into entries, 3 bytes each: type, name, link.
// Input starting with "T" is instead taken as a raw tar stream.
func decodeFuzz(data []byte, out string) ([]testutil.TarEntry, []byte) {
	if len(data) > 0 && data[0] == 'T' {
		return nil, data[1:]
	}
	pick := func(b byte) string { return strings.ReplaceAll(fuzzNames[int(b)%len(fuzzNames)], "$OUT", out) }
	var ents []testutil.TarEntry
	for i := 0; i+2 < len(data) && len(ents) < 64; i += 3 {
		e := testutil.TarEntry{Type: fuzzTypes[int(data[i])%len(fuzzTypes)], Name: pick(data[i+1]), Link: pick(data[i+2])}
		if e.Type == tar.TypeReg {
			e.Body = "pwned"
		}
		ents = append(ents, e)
	}
	return ents, nil
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte{2, 3, 6, 0, 4, 0})           // l -> ../outside/secret; file l/secret
	f.Add([]byte{2, 3, 10, 0, 4, 0, 0, 5, 0}) // l -> $OUT
	f.Add([]byte{3, 0, 9, 0, 0, 0})           // hardlink a -> $OUT/secret
	f.Add([]byte{1, 0, 0, 2, 0, 10, 0, 1, 0}) // dir a, a -> $OUT, a/b
	f.Add(append([]byte("T"), testutil.Tar(f, testutil.TarEntry{Name: "../x", Body: "y"})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		ents, raw := decodeFuzz(data, s.outside)
		if raw == nil {
			var ok bool
			if raw, ok = testutil.TryTar(ents); !ok {
				t.Skip("entries tar cannot encode")
			}
		}
		_ = Extract(context.Background(), bytes.NewReader(raw), s.root, unpriv)
		s.check(t)
	})
}
