package snapshot

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MountReadOnly mounts the files of layer chainID and the layers below it,
// read-only, on target (a CRI image volume). The empty layer goes at the
// bottom: an overlay without an upper directory needs two lower ones. An
// empty chainID (an image without layers) mounts the empty layer alone.
// Unmount undoes it.
func (s *Store) MountReadOnly(chainID, target string) error {
	lowers := []string{}
	if chainID != "" {
		var err error
		if lowers, err = s.Chain(chainID); err != nil {
			return fmt.Errorf("mount %s read-only: %w", chainID, err)
		}
	}
	empty := s.path("empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return fmt.Errorf("mount %s read-only: %w", chainID, err)
	}
	lowers = append(lowers, empty)
	o := overlay{lowers: lowers}
	data := o.lowerOptions()
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("mount %s read-only: %d layers need %d bytes of mount options", chainID, len(lowers), len(data))
	}
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, data); err != nil {
		return fmt.Errorf("mount %s read-only on %s: %w", chainID, target, err)
	}
	return nil
}

// lowerOptions is the overlay's options with lower directories only.
func (o overlay) lowerOptions() string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	l := make([]string, len(o.lowers))
	for i, d := range o.lowers {
		l[i] = esc.Replace(d)
	}
	return "lowerdir=" + strings.Join(l, ":")
}
