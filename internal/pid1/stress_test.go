package pid1

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// 1000 orphans exiting at the same moment are all reaped. They block opening
// a FIFO for reading; opening it for writing releases them all at once.
func TestThousandOrphans(t *testing.T) {
	const n = 1000
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startInit(t, nil, `(i=0; while [ $i -lt `+strconv.Itoa(n)+` ]; do cat `+fifo+` & i=$((i+1)); done)
echo ready; exec sleep 1000`)
	p.waitLines("ready", 1, 30*time.Second)
	blocked := func() int {
		k := 0
		for _, c := range children(p.pid()) {
			if c.comm == "cat" && c.state == 'S' {
				k++
			}
		}
		return k
	}
	waitFor(t, 30*time.Second, func() bool { return blocked() == n },
		func() string {
			return strconv.Itoa(blocked()) + " orphans blocked on the FIFO, want " + strconv.Itoa(n)
		})
	// Release them; O_NONBLOCK fails with ENXIO once no reader is left.
	deadline := time.Now().Add(10 * time.Second)
	for len(children(p.pid())) > 1 && time.Now().Before(deadline) {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
	if left := children(p.pid()); len(left) != 1 {
		t.Fatalf("%d orphans not reaped (%d zombies)", len(left)-1, zombies(left))
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(5 * time.Second); code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
}

// A storm of signals loses no forwarding. Standard signals coalesce (in
// pier-init's pending set and again in the child's), so a storm cannot be
// counted exactly; what must hold is that every kind sent arrives, and that
// afterwards, paced one at a time, each signal arrives exactly once.
func TestSignalStorm(t *testing.T) {
	kinds := map[syscall.Signal]string{
		syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2", syscall.SIGHUP: "HUP",
		syscall.SIGALRM: "ALRM", syscall.SIGWINCH: "WINCH",
	}
	script := ""
	for _, name := range kinds {
		script += "trap 'echo " + name + "' " + name + "; "
	}
	// `wait` returns at once for a trapped signal, so the trap runs without
	// waiting for a foreground command; the sleep it interrupted is killed.
	script += "echo ready; while :; do sleep 10 & p=$!; wait $p; kill $p 2>/dev/null; done"
	p := startInit(t, nil, script)
	p.waitLines("ready", 1, 5*time.Second)

	for range 2000 {
		for sig := range kinds {
			p.signal(sig)
		}
	}
	for _, name := range kinds {
		p.waitLines(name, 1, 5*time.Second)
	}
	settle(t, p, "USR1")

	base := p.count("USR1")
	const paced = 200
	for i := 1; i <= paced; i++ {
		p.signal(syscall.SIGUSR1)
		p.waitLines("USR1", base+i, 2*time.Second)
	}
	time.Sleep(200 * time.Millisecond)
	if got := p.count("USR1") - base; got != paced {
		t.Errorf("the child got %d of %d paced SIGUSR1", got, paced)
	}
}

// settle waits until the count of line has not changed for 200ms.
func settle(t *testing.T, p *initProc, line string) {
	t.Helper()
	last, since := p.count(line), time.Now()
	waitFor(t, 10*time.Second, func() bool {
		if n := p.count(line); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 200*time.Millisecond
	}, func() string { return line + " never settled" })
}
