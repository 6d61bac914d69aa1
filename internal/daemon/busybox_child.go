package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/pier-engine/pier/internal/image"
)

// The default busybox image is made on pierd's first start on a root: a
// tar of the binary and its applets, gzipped and hashed. Made in pierd's
// own process it grew the heap to ~9 MB for 1 MB kept, and the kept
// objects, scattered among the import's garbage, pinned ~2 MB of heap pages
// that no collection gives back (and it paged in the compressor's code):
// pierd's idle RSS was 21 MB after a first start against 17 MB after a
// later one. So pierd, when it can run itself (Config.Helper), makes it
// in a child: the image store keeps nothing in memory, so the image is
// there for pierd once the child exits.

// BuildBusyboxEnv, set in a process's environment, makes pierd the
// busybox builder (BuildBusyboxMain) instead of the daemon.
const BuildBusyboxEnv = "PIER_BUILD_BUSYBOX"

// buildBusyboxTimeout bounds the child: the build takes ~0.1 s.
const buildBusyboxTimeout = time.Minute

// buildBusybox makes the default busybox image, in a child when there is
// a helper to run.
func (d *Daemon) buildBusybox(ctx context.Context) error {
	if d.cfg.Helper == "" {
		_, err := d.images.BuildBusybox(ctx, d.busybox, busyboxRef)
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, buildBusyboxTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.cfg.Helper, d.imageRoot(), d.busybox, busyboxRef)
	cmd.Env = append(os.Environ(), BuildBusyboxEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build busybox in %s: %w: %s", d.cfg.Helper, err, out)
	}
	return nil
}

// imageRoot is the image store's directory.
func (d *Daemon) imageRoot() string { return filepath.Join(d.cfg.Root, "image") }

// BuildBusyboxMain is the child's main: args are the image store's
// directory, the busybox binary and the reference to tag.
func BuildBusyboxMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "busybox builder: want IMAGE-ROOT BINARY REF")
		return 2
	}
	s, err := image.New(image.Config{Root: args[0]})
	if err == nil {
		_, err = s.BuildBusybox(context.Background(), args[1], args[2])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "busybox builder:", err)
		return 1
	}
	return 0
}
