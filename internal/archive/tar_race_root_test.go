package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestTarSwapRace is docker export of a running container: while Tar
// reads the tree, the container swaps a directory for a symlink to a
// host directory and back. No byte of the host's files may end up in
// the archive.
func TestTarSwapRace(t *testing.T) {
	testutil.RequiresRoot(t)
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	const n = 200
	for _, d := range []string{filepath.Join(root, "d"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		name := fmt.Sprintf("f%03d", i)
		if err := os.WriteFile(filepath.Join(root, "d", name), []byte("container data"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, name), []byte("HOST SECRET"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	swaps := 0
	go func() {
		defer wg.Done()
		d, real, link := filepath.Join(root, "d"), filepath.Join(root, "d.real"), filepath.Join(root, "d.link")
		for {
			select {
			case <-stop:
				os.Remove(link)
				return
			default:
			}
			// d -> symlink to the host directory, then back.
			if os.Rename(d, real) == nil {
				if os.Symlink(outside, link) == nil && os.Rename(link, d) == nil {
					swaps++
					time.Sleep(200 * time.Microsecond)
				}
				os.Remove(d)
				os.Rename(real, d)
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	leaked := 0
	for range 20 {
		var buf bytes.Buffer
		_ = Tar(&buf, root) // entries vanishing mid-walk may fail a round
		tr := tar.NewReader(&buf)
		for {
			_, err := tr.Next()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(tr)
			if strings.Contains(string(b), "HOST SECRET") {
				leaked++
			}
		}
	}
	close(stop)
	wg.Wait()
	if swaps == 0 {
		t.Fatal("the racer never swapped the directory: the test proves nothing")
	}
	if leaked > 0 {
		t.Fatalf("%d host files ended up in the archives (%d swaps)", leaked, swaps)
	}
	t.Logf("%d swaps, nothing of the host archived", swaps)
}
