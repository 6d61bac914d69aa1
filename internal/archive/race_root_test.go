package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestExtractNodeSwapRace is the docker cp upload race: the target is a
// live container's directory, and the container swaps each FIFO the
// extractor makes for a symlink to a host file as soon as inotify tells
// it the FIFO exists. Setting the FIFO's mode must never reach the
// host file (a canary with mode 0600).
func TestExtractNodeSwapRace(t *testing.T) {
	testutil.RequiresRoot(t)
	s := newSandbox(t)
	dir := filepath.Join(s.root, "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	hdrs := []*tar.Header{{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}}
	for i := range n {
		hdrs = append(hdrs, &tar.Header{Name: fmt.Sprintf("d/f%d", i), Typeflag: tar.TypeFifo, Mode: 0o777})
	}
	raw := tarOf(t, hdrs)

	stop := make(chan struct{})
	swapped, ready := 0, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		swapped = raceSwap(t, dir, s.secret, ready, stop)
	}()
	<-ready
	// Errors are expected: the extractor may find its node replaced.
	_ = Extract(context.Background(), bytes.NewReader(raw), s.root, Options{})
	close(stop)
	wg.Wait()
	if swapped == 0 {
		t.Fatal("the racer never swapped a FIFO: the test proves nothing")
	}
	t.Logf("racer swapped %d of %d FIFOs", swapped, n)
	var st unix.Stat_t
	if err := unix.Stat(s.secret, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o600 {
		t.Fatalf("host canary %s chmodded through a swapped FIFO: mode %o", s.secret, st.Mode&0o7777)
	}
	s.check(t)
}

// raceSwap replaces every FIFO created in dir by a symlink to target,
// the way a process in the container would; it returns how many it
// swapped once stop is closed.
func raceSwap(t *testing.T, dir, target string, ready chan<- struct{}, stop <-chan struct{}) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Error(err)
		close(ready)
		return 0
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, dir, unix.IN_CREATE); err != nil {
		t.Error(err)
		close(ready)
		return 0
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Error(err)
		close(ready)
		return 0
	}
	defer unix.Close(dfd)
	close(ready)
	buf := make([]byte, 64<<10)
	swapped := 0
	for {
		nr, err := unix.Read(in, buf)
		if err == unix.EAGAIN {
			select {
			case <-stop:
				return swapped
			default:
				continue
			}
		}
		if err != nil {
			t.Error(err)
			return swapped
		}
		for off := 0; off+unix.SizeofInotifyEvent <= nr; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if !strings.HasPrefix(name, "f") {
				continue
			}
			tmp := "swap-" + name
			if unix.Symlinkat(target, dfd, tmp) != nil {
				continue
			}
			if unix.Renameat(dfd, tmp, dfd, name) == nil {
				swapped++
			} else {
				unix.Unlinkat(dfd, tmp, 0)
			}
		}
	}
}
