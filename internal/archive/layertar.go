package archive

import (
	"archive/tar"
	"io"
)

// LayerTar writes dir, one layer's own files in overlay form (an overlay
// upper directory, or a layer linked from one), as that layer's tar:
// Upper.Tar with nothing below, so the bytes depend on dir alone, and an
// empty tar for an empty layer. Over the same files, or hard links of
// them in directories copied with their owner, mode, xattrs and times
// (snapshot.Link), it writes the same bytes every time: a layer stored
// without its blob is made again from its files and must hash to the
// diff id taken the first time.
func LayerTar(w io.Writer, dir string) error {
	wrote, err := Upper{Dir: dir}.Tar(w)
	if err != nil || wrote {
		return err
	}
	return tar.NewWriter(w).Close()
}
