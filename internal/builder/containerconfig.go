package builder

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// stepCommitter is an Engine that also records the step's own config as
// the image's container_config, as dockerd's classic builder does (API
// clients before 1.45 see it as ContainerConfig: the step's command with
// the stage's config).
type stepCommitter interface {
	CommitStep(ctx context.Context, parent, container string, cfg *v1.ConfigFile, step v1.Config) (string, error)
}

func (bd *build) commitStep(parent, container string, cfg *v1.ConfigFile, probe v1.Config) (string, error) {
	if sc, ok := bd.engine.(stepCommitter); ok {
		return sc.CommitStep(bd.ctx, parent, container, cfg, probe)
	}
	return bd.engine.Commit(bd.ctx, parent, container, cfg)
}
