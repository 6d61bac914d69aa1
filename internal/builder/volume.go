package builder

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// volume runs VOLUME. Like dockerd, which creates (without starting) a
// container for the step, it refuses a target that is a file in the
// image. The content of a VOLUME directory then stays as it is: later RUN
// steps write into the container's anonymous volume there, which the
// engine fills from the image and removes with the container, so their
// changes under it never reach a layer.
func (bd *build) volume(st *stage, c *instructions.VolumeCommand) error {
	msg, err := applyMeta(st, c)
	if err != nil {
		return err
	}
	probe := st.probe(st.nop(msg))
	if hit, err := bd.cached(st, probe); err != nil || hit {
		return err
	}
	if err := bd.checkVolumes(st); err != nil {
		return err
	}
	if err := bd.commit(st, probe, ""); err != nil {
		return err
	}
	bd.printf(" ---> %s\n", shortID(st.image))
	return nil
}

// checkVolumes fails when a volume target of the stage's config is a
// file (or a link to one) in its image.
func (bd *build) checkVolumes(st *stage) error {
	if st.image == "" || len(st.run.Volumes) == 0 {
		return nil
	}
	id, dir, err := bd.engine.Mount(bd.ctx, st.image)
	if err != nil {
		return err
	}
	bd.cleanup = append(bd.cleanup, id)
	defer bd.release(id) // a look only: the mount goes once the check is done
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("VOLUME: %w", err)
	}
	defer root.Close()
	for _, v := range slices.Sorted(maps.Keys(st.run.Volumes)) {
		rel := relPath(v)
		fi, err := root.Stat(rel)
		// What cannot be resolved here (an absolute link) is left to
		// the engine's own check when a RUN mounts the volume.
		if err != nil || fi.IsDir() || rel == "." {
			continue
		}
		return invalidf("cannot mount volume over existing file, file exists %s", "/"+strings.TrimPrefix(rel, "/"))
	}
	return nil
}
