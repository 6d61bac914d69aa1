// Package pod is the engine side of Kubernetes pod sandboxes: their
// records, the CNI network (libcni over the plugins in the CNI bin dir,
// configured from the first conflist in the CNI conf dir, plus loopback),
// the mapping of a pod's cgroup parent under pier's own, and the filters of
// the CRI list calls. A sandbox holds no process: its network namespace is
// a bind-mounted namespace file (internal/network) that containers join.
package pod
