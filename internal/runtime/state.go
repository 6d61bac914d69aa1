package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/atomicfile"
	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/seccomp"
)

// Status values, as the OCI runtime spec names them, plus paused.
const (
	StatusCreating = specs.StateCreating
	StatusCreated  = specs.StateCreated
	StatusRunning  = specs.StateRunning
	StatusStopped  = specs.StateStopped
	StatusPaused   = specs.ContainerState("paused")
)

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
)

// Record is what the runtime keeps on disk for a container.
type Record struct {
	// Exec is the exec record (execrecord.go), set once the container is
	// created. It is the first field, so that exec finds it at the start
	// of the file without decoding the rest.
	Exec         []byte      `json:"exec,omitempty"`
	ID           string      `json:"id"`
	Bundle       string      `json:"bundle"`
	Rootfs       string      `json:"rootfs"`
	Pid          int         `json:"pid"`
	PidStartTime uint64      `json:"pidStartTime"`
	Created      time.Time   `json:"created"`
	Owner        string      `json:"owner"`
	CgroupPath   string      `json:"cgroupPath"`
	Spec         *specs.Spec `json:"spec"`
	// Creating is set until the container process reports ready.
	Creating bool `json:"creating,omitempty"`

	filter *seccomp.Filter // compiled at create, for the C init's plan
	// lean marks a record read from the exec record: its Spec holds only
	// what the C init's exec reads, and bpf is the container's filter.
	lean bool
	bpf  *seccompBPF
}

// ValidateID rejects ids that could not name a state directory safely.
func ValidateID(id string) error {
	if id == "" || len(id) > 1024 || !idChars(id) || id == "." || id == ".." {
		return fmt.Errorf("container id %q: %w: use letters, digits and _ + - .", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// idChars reports whether id is made of ASCII letters, digits and _ + - .
// only (a loop, not a regexp: every command validates an id, and
// compiling a regexp at start costs a fresh process ~25 µs).
func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (r *Runtime) dir(id string) string { return filepath.Join(r.Root, id) }

// load reads a container's record.
func (r *Runtime) load(id string) (*Record, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	path := filepath.Join(r.dir(id), stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	if rec, ok := recall(path, b); ok {
		return rec, nil
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode state of %s: %w", id, err)
	}
	return &rec, nil
}

// save writes the record atomically: a crash leaves the old or the new one.
// It is not fsynced: the state describes live processes, which a reboot
// ends (runc does not sync it either); two fsyncs per save cost
// milliseconds on a disk-backed /run, twice per create.
func (r *Runtime) save(rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode state of %s: %w", rec.ID, err)
	}
	path := filepath.Join(r.dir(rec.ID), stateFile)
	if err := atomicfile.WriteVolatile(path, b, 0o600); err != nil {
		forget(path)
		return fmt.Errorf("write state of %s: %w", rec.ID, err)
	}
	remember(path, b, rec)
	return nil
}

// status derives the container's status from the kernel, never from a
// stored field that could be stale: the init process alive (and the same
// process, by start time), the exec fifo still there, the freezer state.
func (r *Runtime) status(rec *Record) specs.ContainerState {
	if rec.Pid == 0 || rec.Creating {
		return StatusCreating
	}
	if !alive(rec.Pid, rec.PidStartTime) {
		return StatusStopped
	}
	if _, err := os.Lstat(filepath.Join(r.dir(rec.ID), fifoName)); err == nil {
		return StatusCreated
	}
	if m, err := r.cgroup(rec); err == nil {
		if s, err := m.FreezerState(); err == nil && s == "frozen" {
			return StatusPaused
		}
	}
	return StatusRunning
}

// alive reports whether pid is a live, non-zombie process started at start.
func alive(pid int, start uint64) bool {
	st, state, err := procStat(pid)
	if err != nil || state == "Z" || state == "X" {
		return false
	}
	return start == 0 || st == start
}

// procStat returns a process's start time (field 22 of /proc/PID/stat) and
// state letter.
func procStat(pid int) (uint64, string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, "", fmt.Errorf("parse /proc/%d/stat", pid)
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, f[0], err
}

// OCIState renders a loaded record as the OCI state document, its status
// read from the kernel now.
func (r *Runtime) OCIState(rec *Record) *specs.State { return r.ociState(rec) }

// ociState renders the record as the OCI state document.
func (r *Runtime) ociState(rec *Record) *specs.State {
	st := r.status(rec)
	s := &specs.State{
		Version: specs.Version,
		ID:      rec.ID,
		Status:  st,
		Bundle:  rec.Bundle,
	}
	if rec.Spec != nil {
		s.Annotations = rec.Spec.Annotations
	}
	if st != StatusStopped {
		s.Pid = rec.Pid
	}
	return s
}

// signalInit sends sig to the container's init through a pidfd, so a
// recycled pid can never be hit.
func signalInit(rec *Record, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", rec.Pid, err)
	}
	defer unix.Close(fd)
	if !alive(rec.Pid, rec.PidStartTime) {
		return fmt.Errorf("container %s: %w", rec.ID, errdefs.ErrNotRunning)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %d to %d: %w", sig, rec.Pid, err)
	}
	return nil
}
