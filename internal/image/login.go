package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pier-engine/pier/internal/errdefs"
)

// CheckLogin asks the registry at server whether cred is good, as docker
// login makes dockerd do: it answers the registry's challenge (a token
// from its token service, or basic auth) and reads /v2/. A registry that
// refuses is an errdefs.ErrUnauthorized carrying the registry's own
// message; nothing is stored either way.
func (s *Store) CheckLogin(ctx context.Context, server string, cred authn.AuthConfig) error {
	host := RegistryHost(server)
	if host == "index.docker.io" {
		host = name.DefaultRegistry
	}
	var opts []name.Option
	if slices.Contains(s.cfg.Insecure, host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return fmt.Errorf("registry %q: %w: %w", server, err, errdefs.ErrInvalidArgument)
	}
	// Pull's scope on no repository: the token service checks the
	// credentials themselves, which is all a login asks.
	rt, err := transport.NewWithContext(ctx, reg, authn.FromConfig(cred), http.DefaultTransport, nil)
	if err != nil {
		return loginError(host, err)
	}
	url := reg.Scheme() + "://" + reg.RegistryStr() + "/v2/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return loginError(host, err)
	}
	defer resp.Body.Close()
	return loginError(host, transport.CheckError(resp, http.StatusOK))
}

// loginError names the registry and, for a refusal, keeps its message
// (the errors of its JSON body, else its status) under ErrUnauthorized.
func loginError(host string, err error) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		var msgs []string
		for _, d := range te.Errors {
			m := d.Message
			if m == "" {
				m = string(d.Code)
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			msgs = append(msgs, http.StatusText(te.StatusCode))
		}
		return errdefs.Newf(errdefs.ErrUnauthorized, "login attempt to %s failed with status: %d %s: %s",
			host, te.StatusCode, http.StatusText(te.StatusCode), strings.Join(msgs, "; "))
	}
	return fmt.Errorf("login %s: %w", host, err)
}
