package buildkit

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
)

// storeHosts wraps BuildKit's registry hosts so that every registry's
// HTTP client asks pier's image store first, over pierd's store socket,
// for the distribution API's pulls: FROM an image pier already has
// (pulled, loaded, built or the offline busybox) resolves to it, as
// dockerd's builder-next takes FROM from its own store. What the store
// lacks (404) goes on to the network.
//
// Pushes must see the registry alone: the pusher HEADs each blob and
// manifest first and skips what exists, so a store answering for the
// registry made it skip the base image's layers, and the registry then
// refused the manifest ("blob unknown"). So each host is split in two:
// one for pull and resolve that asks the store, one for push that does
// not.
func storeHosts(next docker.RegistryHosts, store *http.Client) docker.RegistryHosts {
	return func(host string) ([]docker.RegistryHost, error) {
		hs, err := next(host)
		if err != nil {
			return nil, err
		}
		out := make([]docker.RegistryHost, 0, len(hs)+1)
		var pushers []docker.RegistryHost
		for _, h := range hs {
			if h.Capabilities.Has(docker.HostCapabilityPush) {
				p := h
				p.Capabilities = docker.HostCapabilityPush
				pushers = append(pushers, p)
				if h.Capabilities &^= docker.HostCapabilityPush; h.Capabilities == 0 {
					continue
				}
			}
			c := http.Client{}
			if h.Client != nil {
				c = *h.Client
			}
			inner := c.Transport
			if inner == nil {
				inner = http.DefaultTransport
			}
			c.Transport = &storeTransport{store: store, host: host, next: inner}
			h.Client = &c
			out = append(out, h)
		}
		return append(out, pushers...), nil
	}
}

// storeClient is an HTTP client of pierd's store socket.
func storeClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

// storeTransport asks the store for manifests and blobs of host's
// images before the registry.
type storeTransport struct {
	store *http.Client
	host  string
	next  http.RoundTripper
}

func (t *storeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return t.next.RoundTrip(req)
	}
	p, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	if !ok || !(strings.Contains(p, "/manifests/") || strings.Contains(p, "/blobs/")) {
		return t.next.RoundTrip(req)
	}
	sreq, err := http.NewRequestWithContext(req.Context(), req.Method, "http://pierd/v2/"+t.host+"/"+p, nil)
	if err != nil {
		return t.next.RoundTrip(req)
	}
	resp, err := t.store.Do(sreq)
	if err != nil || resp.StatusCode != http.StatusOK {
		if resp != nil {
			resp.Body.Close()
		}
		return t.next.RoundTrip(req)
	}
	resp.Request = req
	return resp, nil
}
