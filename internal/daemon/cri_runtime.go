package daemon

import (
	"context"
	"os"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/userns"
	"github.com/pier-engine/pier/internal/version"
)

// RuntimeInfo names pier and its version for the CRI's Version.
func (c *CRI) RuntimeInfo(context.Context) (string, string) {
	return "pier", version.Version
}

// RuntimeStatus: the runtime is ready once pierd runs; the network once a
// CNI conflist is there.
func (c *CRI) RuntimeStatus(context.Context) []*runtimeapi.RuntimeCondition {
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if _, err := c.cni.Network(); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", err.Error()
	}
	return []*runtimeapi.RuntimeCondition{{Type: runtimeapi.RuntimeReady, Status: true}, netCond}
}

// RuntimeHandlers: the default handler ("") and "pier" are the same, and
// have recursive read-only mounts where the kernel has mount_setattr, and
// pod user namespaces where it has user namespaces and idmapped mounts.
func (c *CRI) RuntimeHandlers() []*runtimeapi.RuntimeHandler {
	f := &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: rootfs.HasMountSetattr(), UserNamespaces: userns.Supported()}
	return []*runtimeapi.RuntimeHandler{{Name: "", Features: f}, {Name: "pier", Features: f}}
}

// RuntimeFeatures: the SupplementalGroupsPolicy (Merge and Strict) is
// applied at create (supplementalGroups).
func (c *CRI) RuntimeFeatures() *runtimeapi.RuntimeFeatures {
	return &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true}
}

// UpdateRuntimeConfig accepts the kubelet's pod CIDR; the CNI conflist
// owns addressing, so there is nothing to change.
func (c *CRI) UpdateRuntimeConfig(context.Context, *runtimeapi.RuntimeConfig) error { return nil }

// CgroupDriver: pier drives cgroupfs.
func (c *CRI) CgroupDriver() runtimeapi.CgroupDriver { return runtimeapi.CgroupDriver_CGROUPFS }

// hostHas says an LSM is enabled on this host.
func hostHasSELinux() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

func hostHasAppArmor() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && len(b) > 0 && b[0] == 'Y'
}
