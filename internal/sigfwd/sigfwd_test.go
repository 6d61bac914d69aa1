package sigfwd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const helperEnv = "PIER_SIGFWD_HELPER"

// sigRT is a real-time signal, which a Go program receives only through
// signal.Notify.
const sigRT = syscall.Signal(40)

// TestHelperProcess prints the name of every signal it gets, after
// "ready"; it is the forwarding target of TestForwardsEverySignal.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	c := make(chan os.Signal, 16)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT, sigRT)
	fmt.Println("ready")
	for s := range c {
		fmt.Println(s.(syscall.Signal).String())
	}
}

func TestForwardsEverySignal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	rd := bufio.NewReader(out)
	if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}

	var f Forwarder
	if err := f.Catch(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			f.Stop()
		}
	}()
	self := os.Getpid()
	// Kept until Forward: without the handler SIGTERM would end this test.
	for _, s := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGTERM} {
		if err := syscall.Kill(self, s); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	f.Forward(pidfd)
	for _, s := range []syscall.Signal{syscall.SIGINT, sigRT} {
		if err := syscall.Kill(self, s); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	lines := make(chan string)
	go func() {
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	want := []syscall.Signal{syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT, sigRT}
	deadline := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the helper ended after %v", got)
			}
			got[l] = true
		case <-deadline:
			t.Fatalf("the helper got %v, want %v", got, want)
		}
	}
	for _, s := range want {
		if !got[s.String()] {
			t.Errorf("%v was not forwarded (got %v)", s, got)
		}
	}

	// Stop gives the signal back to Go: os/signal sees it again.
	f.Stop()
	stopped = true
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	defer signal.Stop(c)
	if err := syscall.Kill(self, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Error("after Stop, SIGUSR2 did not reach os/signal: the Go runtime's handler was not put back")
	}
}

func TestSignalsLeavesGoAndGlibcTheirOwn(t *testing.T) {
	sigs := map[syscall.Signal]bool{}
	for _, s := range Signals() {
		sigs[syscall.Signal(s)] = true
	}
	for _, s := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGPROF, syscall.SIGPIPE,
		syscall.SIGCHLD, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS, 32, 33} {
		if sigs[s] {
			t.Errorf("%v is taken over", s)
		}
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGTSTP, 34, 64} {
		if !sigs[s] {
			t.Errorf("%v is not forwarded", s)
		}
	}
}
