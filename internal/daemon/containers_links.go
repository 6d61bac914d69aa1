package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// removeLink is DELETE /containers/{name}/{alias}?link=1: ref is
// "name/alias", the legacy link alias on container name; the link goes
// from its HostConfig.Links.
func (d *Daemon) removeLink(ref string) error {
	ref = strings.TrimPrefix(ref, "/")
	name, alias, ok := strings.Cut(ref, "/")
	if !ok || alias == "" {
		return errdefs.Newf(errdefs.ErrInvalidArgument, "Conflict, cannot remove the default link name of the container")
	}
	r, err := d.lookup(name)
	if err != nil {
		return err
	}
	var rec containerRecord
	found := false
	err = d.md.Update(containerKind, r.ID, &rec, func() error {
		if rec.HostConfig == nil {
			return nil
		}
		rec.HostConfig.Links = slices.DeleteFunc(rec.HostConfig.Links, func(l string) bool {
			_, a := splitLink(l)
			found = found || a == alias
			return a == alias
		})
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return errdefs.Newf(errdefs.ErrNotFound, "Could not find the link %s", "/"+ref)
	}
	return nil
}

// splitLink parses a HostConfig.Links entry, "name[:alias]".
func splitLink(l string) (name, alias string) {
	name, alias, ok := strings.Cut(l, ":")
	name = strings.TrimPrefix(name, "/")
	if !ok {
		alias = name
	}
	return name, strings.TrimPrefix(alias, "/")
}

// linkEnv is the legacy link environment of a new container named self:
// for each link, ALIAS_NAME=/self/alias and ALIAS_ENV_K=v for the linked
// container's own Config.Env, as dockerd sets them (its ALIAS_PORT_* vars
// need the linked container's exposed ports and address, which follow).
func (d *Daemon) linkEnv(self string, host *container.HostConfig) ([]string, error) {
	var env []string
	for _, l := range host.Links {
		name, alias := splitLink(l)
		r, err := d.lookup(name)
		if err != nil {
			return nil, fmt.Errorf("HostConfig.Links: could not get container for %s: %w", name, err)
		}
		prefix := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(alias))
		env = append(env, fmt.Sprintf("%s_NAME=/%s/%s", prefix, self, alias))
		if r.Config != nil {
			for _, e := range r.Config.Env {
				k, v, ok := strings.Cut(e, "=")
				if !ok || k == "HOME" || k == "PATH" || k == "HOSTNAME" {
					continue
				}
				env = append(env, fmt.Sprintf("%s_ENV_%s=%s", prefix, k, v))
			}
		}
		if ip := d.linkIP(r); ip != "" {
			env = append(env, d.linkPortEnv(prefix, ip, r)...)
		}
	}
	return env, nil
}

// linkPortEnv is ALIAS_PORT and ALIAS_PORT_<port>_<proto>[_ADDR|_PORT|_PROTO]
// for the linked container's exposed ports.
func (d *Daemon) linkPortEnv(prefix, ip string, r containerRecord) []string {
	if r.Config == nil {
		return nil
	}
	var ports []string
	for p := range r.Config.ExposedPorts {
		ports = append(ports, p.String())
	}
	slices.Sort(ports)
	var env []string
	for i, p := range ports {
		port, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		url := fmt.Sprintf("%s://%s:%s", proto, ip, port)
		if i == 0 {
			env = append(env, fmt.Sprintf("%s_PORT=%s", prefix, url))
		}
		k := fmt.Sprintf("%s_PORT_%s_%s", prefix, port, strings.ToUpper(proto))
		env = append(env, k+"="+url, k+"_ADDR="+ip, k+"_PORT="+port, k+"_PROTO="+proto)
	}
	return env
}

// linkIP is the address of r on its first network, or "".
func (d *Daemon) linkIP(r containerRecord) string {
	var resp container.InspectResponse
	resp.NetworkSettings = &container.NetworkSettings{}
	d.networkInspect(r, &resp)
	for _, n := range resp.NetworkSettings.Networks {
		if n != nil && n.IPAddress.IsValid() {
			return n.IPAddress.String()
		}
	}
	return ""
}

// withLinks applies HostConfig.Links to a new container: its legacy link
// variables in a copy of cfg for the spec (withLinkHosts does /etc/hosts).
func (d *Daemon) withLinks(self string, cfg *container.Config, host *container.HostConfig) (*container.Config, error) {
	if len(host.Links) == 0 {
		return cfg, nil
	}
	env, err := d.linkEnv(self, host)
	if err != nil {
		return nil, err
	}
	c := *cfg
	c.Env = append(slices.Clone(cfg.Env), env...)
	return &c, nil
}

// withLinkHosts is h with its links' "alias", "name" and short id as
// extra hosts at their current address, for the /etc/hosts the network
// writes at each start; h itself (inspect's) is left as the client sent it.
func (d *Daemon) withLinkHosts(h *container.HostConfig) *container.HostConfig {
	if h == nil || len(h.Links) == 0 {
		return h
	}
	c := *h
	c.ExtraHosts = slices.Clone(h.ExtraHosts)
	for _, l := range h.Links {
		name, alias := splitLink(l)
		r, err := d.lookup(name)
		if err != nil {
			continue
		}
		if ip := d.linkIP(r); ip != "" {
			for _, n := range []string{alias, r.Name, r.ID[:12]} {
				c.ExtraHosts = append(c.ExtraHosts, n+":"+ip)
			}
		}
	}
	return &c
}
