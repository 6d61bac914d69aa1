package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/rootfs"
)

// rootMode keeps the daemon's root from other users: they may traverse
// it (a container's files are reached through it), never list it
// (CVE-2021-41091: with 0711 or wider, a user outside could find and
// run a container's setuid binaries).
const rootMode = 0o710

// prepareRoot makes the daemon's root and sets its mode even when it
// already exists, since an older pierd, or an admin, may have left it
// wider.
func prepareRoot(root string) error {
	if err := os.MkdirAll(root, rootMode); err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("root %s is not a directory: %w", root, errdefs.ErrInvalidArgument)
	}
	if err := os.Chmod(root, rootMode); err != nil {
		return fmt.Errorf("root %s: %w", root, err)
	}
	return nil
}

// containerIDPattern is what a container directory's name looks like:
// build steps (build-...) and anything else are not the sweep's.
var containerIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// sweepTemps removes, before the stores open, what a crash left in
// their temporary directories: blobs and load trees being ingested,
// layers being unpacked, writable layers being made or removed. The
// stores would empty them too, without saying so; pierd logs each.
func (d *Daemon) sweepTemps() {
	for _, dir := range []string{
		filepath.Join(d.cfg.Root, "image", "ingest"),
		filepath.Join(d.cfg.Root, "image", "snapshots", "tmp"),
	} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // a first start: nothing there yet
		}
		for _, e := range ents {
			d.sweepRemove("interrupted write", filepath.Join(dir, e.Name()))
		}
	}
	d.sweepTempFiles(d.cfg.Root)
}

// sweepOrphans settles, once the stores are open and before any
// container is adopted or served, what a crash left half-made:
//   - a container directory without a record: a create that did not
//     finish (the record is written last);
//   - a record whose directory or writable layer is gone: a remove that
//     did not finish (the record is deleted last); the removal is
//     completed;
//   - a writable layer without a record;
//   - temp files of atomic writes in the containers' directories;
//   - layers and blobs no image names: a pull or load that did not
//     finish (the image record is written last).
func (d *Daemon) sweepOrphans() error {
	recs, err := d.containerRecords()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, r := range recs {
		known[r.ID] = true
	}
	ctrDir := filepath.Join(d.cfg.Root, "containers")
	ents, err := os.ReadDir(ctrDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, e := range ents {
		id := e.Name()
		if !containerIDPattern.MatchString(id) {
			continue
		}
		if !known[id] {
			d.sweepContainer("container directory without a record (interrupted create)", id)
			continue
		}
		d.sweepTempFiles(d.paths(id).dir)
		d.sweepTempFiles(d.paths(id).bundle)
	}
	d.sweepRunDirs(known)
	active, err := d.images.Snapshots().Active()
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	hasLayer := map[string]bool{}
	for _, id := range active {
		hasLayer[id] = true
		if containerIDPattern.MatchString(id) && !known[id] {
			d.sweepSnapshot("writable layer without a container", id)
		}
	}
	for _, r := range recs {
		if _, err := os.Stat(d.paths(r.ID).dir); errors.Is(err, os.ErrNotExist) || !hasLayer[r.ID] {
			d.sweepRecord(r.ID)
		}
	}
	return d.sweepImages()
}

// sweepImages collects layers and blobs that no image names, and logs
// what went.
func (d *Daemon) sweepImages() error {
	layersBefore, _ := d.images.Snapshots().Layers()
	blobDir := filepath.Join(filepath.Dir(d.images.Snapshots().Root()), "blobs", "sha256")
	blobsBefore, _ := os.ReadDir(blobDir)
	if err := d.images.GC(); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	layersAfter, _ := d.images.Snapshots().Layers()
	blobsAfter, _ := os.ReadDir(blobDir)
	kept := map[string]bool{}
	for _, l := range layersAfter {
		kept[l] = true
	}
	for _, l := range layersBefore {
		if !kept[l] {
			d.log.Info("sweep: removed layer", "layer", l, "reason", "no image names it (interrupted pull or load)")
		}
	}
	if n := len(blobsBefore) - len(blobsAfter); n > 0 {
		d.log.Info("sweep: removed blobs", "count", n, "reason", "no image names them (interrupted pull or load)")
	}
	return nil
}

// sweepContainer removes the files of a container that has no record.
// Nothing of it was started (start needs the record), but its rootfs
// and shm are unmounted first all the same, so that removing the
// directory can never descend into a mount.
func (d *Daemon) sweepContainer(why, id string) {
	p := d.paths(id)
	rootfs.DetachAll(p.rootfs)
	rootfs.DetachAll(p.shm)
	d.sweepSnapshot(why, id)
	d.sweepRemove(why, p.dir)
	d.sweepRemove(why, p.run)
}

// sweepRecord completes an interrupted remove: what is left of the
// container's files, then its record.
func (d *Daemon) sweepRecord(id string) {
	const why = "container record without its files (interrupted remove)"
	d.sweepContainer(why, id)
	if err := d.md.Delete(containerKind, id); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		d.log.Warn("sweep: remove record", "container_id", id, "err", err)
		return
	}
	d.log.Info("sweep: removed record", "container_id", id, "reason", why)
}

func (d *Daemon) sweepSnapshot(why, id string) {
	up, err := d.images.Snapshots().UpperDir(id)
	if err != nil {
		return
	}
	if _, err := os.Stat(filepath.Dir(up)); err != nil {
		return
	}
	if err := d.images.Snapshots().Remove(id); err != nil {
		d.log.Warn("sweep: remove writable layer", "container_id", id, "err", err)
		return
	}
	d.log.Info("sweep: removed writable layer", "container_id", id, "reason", why)
}

// sweepTempFiles removes the temp files of atomic writes in dir (not
// below it): atomicfile's, and the fixed "name.tmp" of older pierds.
func (d *Daemon) sweepTempFiles(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Type().IsRegular() && (atomicfile.IsTemp(e.Name()) || strings.HasSuffix(e.Name(), ".tmp")) {
			d.sweepRemove("temp file of an interrupted write", filepath.Join(dir, e.Name()))
		}
	}
}

func (d *Daemon) sweepRemove(why, path string) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := os.RemoveAll(path); err != nil {
		d.log.Warn("sweep: remove", "path", path, "err", err)
		return
	}
	d.log.Info("sweep: removed", "path", path, "reason", why)
}
