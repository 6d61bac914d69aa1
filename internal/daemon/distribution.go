package daemon

import (
	"context"

	"github.com/moby/moby/api/types/registry"
)

// DistributionInspect is GET /distribution/{name}/json: the registry's
// descriptor and platforms of ref, with the request's credentials.
func (d *Daemon) DistributionInspect(ctx context.Context, ref string) (registry.DistributionInspect, error) {
	return d.images.Distribution(ctx, ref)
}
