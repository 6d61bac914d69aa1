package monitor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/trace"
)

// The watch binary has no pier-runtime library, so the in-process delete
// at a container's end is done by the full monitor: the watch image, once
// the init is reaped and the log drained, re-executes it (same pid) as
// `pier-monitor --finish FD CONFIG.json`, which deletes, writes the
// Status and exits. Only containers that outlived the handover's delay
// pay this third Go start, at their end.

// finishRecord is what the finish image is told.
type finishRecord struct {
	Config Config `json:"config"`
	Status Status `json:"status"`
	// Errors are the watch's own (the wait, the log), for the exit code.
	Errors []string `json:"errors,omitempty"`
}

// execFinish execs the full monitor to delete the container and write
// st; it returns only on failure.
func (m *monitor) execFinish(st Status, errs []error) error {
	if m.fullExe == "" {
		return fmt.Errorf("delete %s: %w", m.cfg.ID, errNoFullMonitor)
	}
	rec := finishRecord{Config: m.cfg, Status: st}
	for _, err := range errs {
		if err != nil {
			rec.Errors = append(rec.Errors, err.Error())
		}
	}
	fd, err := writeMemfd("pier-monitor-finish", rec)
	if err != nil {
		return fmt.Errorf("delete %s: %w", m.cfg.ID, err)
	}
	defer unix.Close(fd)
	trace.Mark("monitor", "finish exec")
	if err := execImage(m.fullExe, "--finish", fd, m.self); err != nil {
		return fmt.Errorf("delete %s: %w", m.cfg.ID, err)
	}
	return nil
}

var errNoFullMonitor = errors.New("the full monitor's binary is unknown")

// Finish is the finish image's life: it deletes the container described
// by the record in the memfd fd and writes its Status.
func Finish(fd int) error {
	trace.Mark("monitor", "finish image")
	var rec finishRecord
	if err := readMemfd(fd, &rec); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	m := &monitor{cfg: rec.Config}
	var errs []error
	for _, e := range rec.Errors {
		errs = append(errs, errors.New(e))
	}
	errs = append(errs, m.delete())
	trace.Mark("monitor", "deleted")
	return m.finish(rec.Status, errs)
}
