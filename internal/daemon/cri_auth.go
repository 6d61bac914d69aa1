package daemon

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/pier-engine/pier/internal/image"
)

// pullContext carries the kubelet's registry credentials for one pull,
// never stored (as dockerd's X-Registry-Auth).
func pullContext(ctx context.Context, auth *runtimeapi.AuthConfig) (context.Context, error) {
	if auth == nil {
		return ctx, nil
	}
	return image.WithCredentials(ctx, []image.Credential{{Server: auth.GetServerAddress(), AuthConfig: authn.AuthConfig{
		Username: auth.GetUsername(), Password: auth.GetPassword(), Auth: auth.GetAuth(),
		IdentityToken: auth.GetIdentityToken(), RegistryToken: auth.GetRegistryToken(),
	}}}), nil
}
