// Package network is the part of pierd's engine that owns networks: their
// records, bridges, address allocation (IPAM), embedded DNS servers,
// published ports, and each container's endpoints on them. It answers the
// API's /networks and wires a container's network namespace around its
// start and stop; the kernel work itself (links, namespaces, nftables, tc)
// is internal/network's.
//
// A Controller is made once by the daemon from a Config that carries
// everything it depends on: the state root, the metadata store, a logger,
// an event publisher, and Containers, the small interface through which it
// looks containers up. It never imports internal/daemon.
//
// A container's network, as the daemon drives it:
//
//	AddContainer(id, networking, host)   at create: endpoints checked and recorded
//	NetnsPath(id, host)                  the namespace file the spec joins
//	StartContainer(c)                    before the runtime's create: netns, veths, ports, /etc files
//	StopContainer(c)                     after its end: everything StartContainer made
//	RemoveContainer(id)                  at removal: the endpoint records
//
// A network's bridge, rules and resolver exist only while an endpoint is
// attached, unless Hold keeps them for pierd's lifetime. Restore settles
// what a previous pierd left after it starts.
package network
