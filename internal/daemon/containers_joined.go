package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/atomicfile"
)

// joinNamespacesNow points the spec's container:<x> namespaces at x's
// current init: the pid resolved at create is stale once x has restarted.
func (d *Daemon) joinNamespacesNow(r containerRecord, p ctrPaths) error {
	h := r.HostConfig
	joined := map[specs.LinuxNamespaceType]string{}
	for typ, mode := range map[specs.LinuxNamespaceType]string{
		specs.NetworkNamespace: string(h.NetworkMode), specs.PIDNamespace: string(h.PidMode),
		specs.IPCNamespace: string(h.IpcMode), specs.UTSNamespace: string(h.UTSMode),
	} {
		if ref, ok := strings.CutPrefix(mode, "container:"); ok {
			joined[typ] = ref
		}
	}
	if len(joined) == 0 {
		return nil
	}
	b, err := os.ReadFile(p.config)
	if err != nil {
		return fmt.Errorf("container %s: %w", r.ID, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("container %s: spec: %w", r.ID, err)
	}
	for i, ns := range s.Linux.Namespaces {
		ref, ok := joined[ns.Type]
		if !ok {
			continue
		}
		pid, err := d.containerPID(ref)
		if err != nil {
			return fmt.Errorf("joining %s namespace of container %s: %w", ns.Type, ref, err)
		}
		s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", pid, nsFile(ns.Type))
	}
	if b, err = json.Marshal(&s); err != nil {
		return fmt.Errorf("container %s: spec: %w", r.ID, err)
	}
	return atomicfile.WriteFile(p.config, b, 0o600)
}

// nsFile is the name of a namespace type under /proc/<pid>/ns.
func nsFile(t specs.LinuxNamespaceType) string {
	if t == specs.NetworkNamespace {
		return "net"
	}
	return string(t)
}
