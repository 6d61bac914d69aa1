package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// topTitles are `ps -ef`'s columns, which dockerd shows by default, with
// pier's NSPID (the pid inside the container) beside the host's PID.
var topTitles = []string{"UID", "PID", "NSPID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}

// clockTicks is USER_HZ, which /proc/PID/stat counts in; 100 on Linux.
const clockTicks = 100

// ContainerTop lists the processes of a running container: with psArgs
// empty from /proc, with an NSPID column; otherwise as `ps psArgs` shows
// them, its rows filtered to the container's pids, as dockerd does.
func (d *Daemon) ContainerTop(ctx context.Context, ref, psArgs string) (container.TopResponse, error) {
	r, err := d.lookup(ref)
	if err != nil {
		return container.TopResponse{}, err
	}
	if r.State != container.StateRunning {
		return container.TopResponse{}, fmt.Errorf("Container %s is not running: %w", r.ID, errdefs.ErrConflict)
	}
	pids, err := d.containerPids(ctx, r.ID)
	if err != nil {
		return container.TopResponse{}, err
	}
	if r.HostConfig != nil && r.HostConfig.Init == nil {
		// pier-init is pier's, not the user's: top shows only the
		// user's processes, as dockerd does without --init.
		pids = slices.DeleteFunc(pids, func(p int) bool { return p == r.Pid })
	}
	if psArgs != "" {
		return psTop(ctx, psArgs, pids)
	}
	resp := container.TopResponse{Titles: topTitles, Processes: [][]string{}}
	boot := bootTime()
	for _, pid := range pids {
		row, err := procRow(pid, boot, time.Now())
		if err != nil {
			continue // exited since the runtime listed it
		}
		resp.Processes = append(resp.Processes, row)
	}
	return resp, nil
}

// containerPids asks the runtime for the pids in the container's cgroup.
func (d *Daemon) containerPids(ctx context.Context, id string) ([]int, error) {
	pids, err := d.runtimeOf(id).Ps(ctx, id)
	if err != nil {
		return nil, err
	}
	slices.Sort(pids)
	return pids, nil
}

// procStat is what top shows from /proc/PID/stat and status.
type procStat struct {
	ppid, ttyNr         int
	utime, stime, start uint64 // clock ticks; start since boot
	uid                 string
	nspid               string // innermost pid namespace's number
	cmd                 string
}

func readProc(pid int) (procStat, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read %s/stat: %w", dir, err)
	}
	// The command sits in parentheses and may hold spaces and ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse %s/stat: no command", dir)
	}
	comm := string(stat[bytes.IndexByte(stat, '(')+1 : i])
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3, state
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parse %s/stat: %d fields", dir, len(f))
	}
	var p procStat
	p.ppid, _ = strconv.Atoi(f[1])
	p.ttyNr, _ = strconv.Atoi(f[4])
	p.utime, _ = strconv.ParseUint(f[11], 10, 64)
	p.stime, _ = strconv.ParseUint(f[12], 10, 64)
	p.start, _ = strconv.ParseUint(f[19], 10, 64)
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return procStat{}, fmt.Errorf("read %s/status: %w", dir, err)
	}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(line, ":")
		vals := strings.Fields(v)
		switch {
		case k == "Uid" && len(vals) > 0:
			p.uid = vals[0]
		case k == "NSpid" && len(vals) > 0:
			p.nspid = vals[len(vals)-1]
		}
	}
	cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	p.cmd = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	if p.cmd == "" {
		p.cmd = "[" + comm + "]"
	}
	return p, nil
}

// procRow is pid's row under topTitles.
func procRow(pid int, boot, now time.Time) ([]string, error) {
	p, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	started := boot.Add(time.Duration(p.start) * time.Second / clockTicks)
	cpu := time.Duration(p.utime+p.stime) * time.Second / clockTicks
	c := 0
	if up := now.Sub(started); up > 0 {
		c = int(cpu * 100 / up)
	}
	return []string{
		userName(p.uid), strconv.Itoa(pid), p.nspid, strconv.Itoa(p.ppid), strconv.Itoa(c),
		stime(started, now), tty(p.ttyNr), cpuTime(cpu), p.cmd,
	}, nil
}

// userName is ps's UID column: the host's name for uid, else the number.
func userName(uid string) string {
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// stime is ps's STIME: the clock time today, the date before.
func stime(t, now time.Time) string {
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04")
	}
	return t.Format("Jan02")
}

// tty names a controlling terminal from its device number, "?" for none.
func tty(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4:
		return fmt.Sprintf("tty%d", minor)
	}
	return "?"
}

// cpuTime is ps's TIME, [DD-]HH:MM:SS.
func cpuTime(d time.Duration) string {
	s := int(d.Seconds())
	out := fmt.Sprintf("%02d:%02d:%02d", s/3600%24, s/60%60, s%60)
	if days := s / 86400; days > 0 {
		out = fmt.Sprintf("%d-%s", days, out)
	}
	return out
}

// bootTime is when the host booted, from /proc/stat's btime.
func bootTime() time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					return time.Unix(n, 0)
				}
			}
		}
	}
	return time.Unix(0, 0)
}
