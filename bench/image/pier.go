package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/snapshot"
)

// pierPull is the child side of the pier contender: a store in dir/store,
// pull ref, and make a container rootfs of it at dir/rootfs (left mounted
// for the parent to unmount, as a running container would keep it).
func pierPull(ref, dir string) error {
	s, err := image.New(image.Config{Root: filepath.Join(dir, "store")})
	if err != nil {
		return err
	}
	img, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		return err
	}
	target := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		return err
	}
	if err := s.Snapshots().Prepare("bench", img.TopChainID()); err != nil {
		return err
	}
	return s.Snapshots().Mount("bench", target)
}

func unmountPier(dir string) error {
	return snapshot.Unmount(filepath.Join(dir, "rootfs"))
}

// rootfsCost times Prepare+Mount+Unmount+Remove of a container rootfs for
// each image, n times, interleaved; s already holds them. The rootfs is
// mounted under root.
func rootfsCost(s *image.Store, root string, refs []string, n int) (map[string][]time.Duration, error) {
	target := filepath.Join(root, "rootfs")
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, err
	}
	chains := map[string]string{}
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return nil, err
		}
		chains[ref] = img.TopChainID()
	}
	out := map[string][]time.Duration{}
	for i := range n {
		for _, ref := range refs {
			id := fmt.Sprintf("c%d", i)
			start := time.Now()
			if err := s.Snapshots().Prepare(id, chains[ref]); err != nil {
				return nil, err
			}
			if err := s.Snapshots().Mount(id, target); err != nil {
				return nil, err
			}
			if err := snapshot.Unmount(target); err != nil {
				return nil, err
			}
			if err := s.Snapshots().Remove(id); err != nil {
				return nil, err
			}
			out[ref] = append(out[ref], time.Since(start))
		}
	}
	return out, nil
}
