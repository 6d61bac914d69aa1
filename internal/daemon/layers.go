package daemon

import "fmt"

// rootfsLayers lists the directories container id's rootfs is made of,
// top first: its writable layer, then its image's layers. specgen reads
// /etc/passwd and /etc/group from them at create, before the rootfs is
// mounted, so that a user name resolves as it does with Docker.
func (d *Daemon) rootfsLayers(id, chainID string) ([]string, error) {
	upper, err := d.images.Snapshots().UpperDir(id)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	if chainID == "" {
		return []string{upper}, nil
	}
	lowers, err := d.images.Snapshots().Chain(chainID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return append([]string{upper}, lowers...), nil
}
