package buildkit

import (
	"context"
	"fmt"
	"os"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
)

// CacheRecord is one record of BuildKit's cache, in the terms of the
// Engine API's /system/df.
type CacheRecord struct {
	ID, Type, Description string
	Parents               []string
	InUse, Shared         bool
	Size                  int64
	CreatedAt             time.Time
	LastUsedAt            *time.Time
	UsageCount            int
}

// DiskUsage lists BuildKit's cache records. A BuildKit never started
// (no state under Root) has none, and is not started to say so; one with
// state from an earlier pierd is started, its cache being on disk.
func (l *Lazy) DiskUsage(ctx context.Context) ([]CacheRecord, error) {
	if _, err := os.Stat(l.cfg.Root); os.IsNotExist(err) {
		return nil, nil
	}
	d, err := l.Daemon()
	if err != nil {
		return nil, err
	}
	resp, err := d.ctrl.DiskUsage(ctx, &controlapi.DiskUsageRequest{})
	if err != nil {
		return nil, fmt.Errorf("buildkit disk usage: %w", err)
	}
	out := make([]CacheRecord, 0, len(resp.Record))
	for _, r := range resp.Record {
		c := CacheRecord{ID: r.ID, Type: r.RecordType, Description: r.Description, Parents: r.Parents,
			InUse: r.InUse, Shared: r.Shared, Size: r.Size, UsageCount: int(r.UsageCount)}
		if r.CreatedAt != nil {
			c.CreatedAt = r.CreatedAt.AsTime()
		}
		if r.LastUsedAt != nil {
			t := r.LastUsedAt.AsTime()
			c.LastUsedAt = &t
		}
		out = append(out, c)
	}
	return out, nil
}
