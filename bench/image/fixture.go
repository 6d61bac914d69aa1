package main

import (
	"archive/tar"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// fixtureSpec shapes the large image: layers of big files (three quarters
// random bytes, one quarter text, so gzip keeps ~80% of them and
// decompression still has work to do) plus many small files, since real
// images have both.
type fixtureSpec struct {
	Layers     int
	BigFiles   int // per layer, 1 MiB each
	SmallFiles int // per layer, 4 KiB each
}

var largeSpec = fixtureSpec{Layers: 5, BigFiles: 48, SmallFiles: 400}

// pushFixture writes the layers as .tar.gz under dir and pushes the image
// to ref; it returns the manifest digest and the compressed size.
func pushFixture(ref, dir string, spec fixtureSpec) (v1.Hash, int64, error) {
	var layers []v1.Layer
	var size int64
	for i := range spec.Layers {
		path := filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", i))
		if err := writeLayer(path, i, spec); err != nil {
			return v1.Hash{}, 0, fmt.Errorf("layer %d: %w", i, err)
		}
		l, err := tarball.LayerFromFile(path)
		if err != nil {
			return v1.Hash{}, 0, fmt.Errorf("layer %d: %w", i, err)
		}
		n, err := l.Size()
		if err != nil {
			return v1.Hash{}, 0, err
		}
		size += n
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return v1.Hash{}, 0, err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if err := remote.Write(r, img); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d, size, err
}

// writeLayer writes layer n of spec, gzipped; the content is a function of
// n only, so every run benchmarks the same bytes.
func writeLayer(path string, n int, spec fixtureSpec) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	rng := rand.NewChaCha8([32]byte{byte(n), 'p', 'i', 'e', 'r'})
	dir := fmt.Sprintf("layer%d/", n)
	mtime := time.Unix(1700000000, 0)
	if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}); err != nil {
		return err
	}
	text := []byte("the quick brown fox jumps over the lazy dog; ")
	add := func(name string, size int) error {
		buf := make([]byte, size)
		rng.Read(buf[:size*3/4])
		for i := size * 3 / 4; i < size; i++ {
			buf[i] = text[i%len(text)]
		}
		h := &tar.Header{Name: dir + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: mtime}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(buf)
		return err
	}
	for i := range spec.BigFiles {
		if err := add(fmt.Sprintf("big%03d", i), 1<<20); err != nil {
			return err
		}
	}
	for i := range spec.SmallFiles {
		if err := add(fmt.Sprintf("small%04d", i), 4<<10); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
