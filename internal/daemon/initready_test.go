package daemon

import (
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestTakesSIGTERM(t *testing.T) {
	// This test process handles SIGTERM once it asks to be told of it.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	defer signal.Reset(syscall.SIGTERM)
	if !takesSIGTERM(os.Getpid()) {
		t.Error("a process with a SIGTERM handler is not seen as ready")
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if takesSIGTERM(cmd.Process.Pid) {
		t.Error("sleep, which has no SIGTERM handler, is seen as ready")
	}
	if !takesSIGTERM(1 << 30) {
		t.Error("a process that is gone should not be waited for")
	}
	// A zombie (ended, not yet reaped) is not waited for either.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	defer z.Wait()
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(z.Process.Pid) + "/status"); strings.Contains(string(b), "State:\tZ") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !takesSIGTERM(z.Process.Pid) {
		t.Error("a zombie is waited for")
	}
}

func TestUsesInit(t *testing.T) {
	off, on := false, true
	if !usesInit(nil) || !usesInit(&container.HostConfig{}) || !usesInit(&container.HostConfig{Init: &on}) || usesInit(&container.HostConfig{Init: &off}) {
		t.Error("pier-init is PID 1 unless Init is false")
	}
}

// TestChildExecd: start waits for pier-init's child to have exec'd the
// container's command; a process without children has not, one whose
// child runs another program has, and a zombie or a gone process has
// ended.
func TestChildExecd(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if childExecd(cmd.Process.Pid) {
		t.Error("sleep, which has no child, is seen as having exec'd one")
	}
	if !childExecd(os.Getpid()) {
		t.Error("this test, whose child runs sleep, is not seen as having exec'd it")
	}
	if ended(cmd.Process.Pid) || ended(os.Getpid()) {
		t.Error("a running process is seen as ended")
	}
	if !ended(1 << 30) {
		t.Error("a gone process is not seen as ended")
	}
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	defer z.Wait()
	deadline := time.Now().Add(time.Second)
	for !ended(z.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !ended(z.Process.Pid) {
		t.Error("a zombie is not seen as ended")
	}
}
