package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sample is one run of one init.
type sample struct {
	RssKB, PssKB, AnonKB int
	// DirtyKB is Private_Dirty: pages only this process holds and that
	// would have to be written out, the memory each container really adds.
	DirtyKB      int
	Threads      int
	SignalToExit time.Duration
	// ChildGone is from kill(SIGTERM) to the child having exited: the
	// forwarding half of SignalToExit; the rest is reaping and exiting.
	ChildGone time.Duration
}

// measure runs in as PID 1 of a new PID namespace over `sleep 1000`, reads
// its memory once the child runs, then times SIGTERM to exit.
func measure(in initCmd) (sample, error) {
	args := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", in.Path}, in.Args...)
	args = append(args, "sleep", "1000")
	cmd := exec.Command("unshare", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return sample{}, fmt.Errorf("start unshare: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	pid1, err := waitChild(cmd.Process.Pid, "")
	if err != nil {
		return sample{}, fmt.Errorf("PID 1 of %s: %w", in.Name, err)
	}
	child, err := waitChild(pid1, "sleep")
	if err != nil {
		return sample{}, fmt.Errorf("sleep under %s: %w", in.Name, err)
	}
	time.Sleep(300 * time.Millisecond)
	s, err := memory(pid1)
	if err != nil {
		return s, err
	}
	fd, err := unix.PidfdOpen(pid1, 0)
	if err != nil {
		return s, fmt.Errorf("pidfd_open %d: %w", pid1, err)
	}
	defer unix.Close(fd)
	cfd, err := unix.PidfdOpen(child, 0)
	if err != nil {
		return s, fmt.Errorf("pidfd_open %d: %w", child, err)
	}
	defer unix.Close(cfd)
	start := time.Now()
	if err := unix.Kill(pid1, syscall.SIGTERM); err != nil {
		return s, fmt.Errorf("kill %d: %w", pid1, err)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(cfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return s, fmt.Errorf("poll pidfd: %w", err)
		}
		if n == 0 {
			return s, fmt.Errorf("%s did not exit within 5s of SIGTERM", in.Name)
		}
		if fds[1].Revents != 0 && s.ChildGone == 0 {
			s.ChildGone = time.Since(start)
			fds[1].Fd = -1 // poll ignores it from now on
		}
		if fds[0].Revents != 0 {
			break
		}
	}
	if s.ChildGone == 0 {
		s.ChildGone = time.Since(start)
	}
	s.SignalToExit = time.Since(start)
	return s, nil
}

// waitChild waits for a child of parent whose command name is comm (any,
// when empty) and returns its pid.
func waitChild(parent int, comm string) (int, error) {
	// Every thread has its own children list: a Go init forks from
	// whichever thread it runs on.
	dir := "/proc/" + strconv.Itoa(parent) + "/task/"
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var kids []string
		tasks, _ := os.ReadDir(dir)
		for _, t := range tasks {
			b, _ := os.ReadFile(dir + t.Name() + "/children")
			kids = append(kids, strings.Fields(string(b))...)
		}
		for _, f := range kids {
			pid, _ := strconv.Atoi(f)
			c, _ := os.ReadFile("/proc/" + f + "/comm")
			if comm == "" || strings.TrimSpace(string(c)) == comm {
				return pid, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no child %q of %d after 5s", comm, parent)
}

// memory reads pid's Rss, Pss and anonymous memory and its thread count.
func memory(pid int) (sample, error) {
	var s sample
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.Atoi(fields[1])
		switch fields[0] {
		case "Rss:":
			s.RssKB = v
		case "Pss:":
			s.PssKB = v
		case "Anonymous:":
			s.AnonKB = v
		case "Private_Dirty:":
			s.DirtyKB = v
		}
	}
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return s, err
	}
	s.Threads = len(tasks)
	return s, sc.Err()
}
