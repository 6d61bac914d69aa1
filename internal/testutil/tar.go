package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"
)

// TarTime is the modification time of every entry Tar writes, fixed so that
// layers built twice have the same digest and tests can check mtimes survive.
var TarTime = time.Unix(1700000000, 0)

// xattrPAXPrefix is how tar carries extended attributes (GNU and Go agree).
const xattrPAXPrefix = "SCHILY.xattr."

// TarEntry is one entry of a tar built by Tar. Type defaults to a regular
// file and Mode to 0644, or 0755 for a directory; only a regular file may
// have a Body. Major and Minor are used as given, so a device entry names
// its numbers (0:0 is an overlay whiteout).
type TarEntry struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
	Xattrs           map[string]string
	Major, Minor     int64
}

// Tar returns a PAX tar stream of entries, in order. It calls t.Fatal when
// tar cannot encode an entry, so a fuzzer can hand it a TB whose Fatal
// panics and recover.
func Tar(t testing.TB, entries ...TarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(e.header()); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e TarEntry) header() *tar.Header {
	h := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode,
		ModTime: TarTime, Devmajor: e.Major, Devminor: e.Minor, Format: tar.FormatPAX}
	if h.Typeflag == 0 {
		h.Typeflag = tar.TypeReg
	}
	if h.Mode == 0 {
		h.Mode = 0o644
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
	}
	if h.Typeflag == tar.TypeReg {
		h.Size = int64(len(e.Body))
	}
	for k, v := range e.Xattrs {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords[xattrPAXPrefix+k] = v
	}
	return h
}

// TryTar is Tar for generated entries, some of which tar cannot encode:
// ok is false for those.
func TryTar(ents []TarEntry) (b []byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return Tar(panicTB{}, ents...), true
}

// panicTB turns Tar's Fatal into a panic that TryTar recovers.
type panicTB struct{ testing.TB }

func (panicTB) Helper()           {}
func (panicTB) Fatal(args ...any) { panic(args) }

// TarHeaders reads the tar stream r to its end and returns its headers.
func TarHeaders(t testing.TB, r io.Reader) []*tar.Header {
	t.Helper()
	var hdrs []*tar.Header
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return hdrs
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, hdr)
	}
}
