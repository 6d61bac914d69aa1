// Package dns is pier's embedded DNS resolver: one per user-defined network,
// listening on the network's gateway address, the way Docker's embedded DNS
// server lets containers find each other by name.
//
// A query for a name the network owns is answered here: A and AAAA with the
// container's addresses of that family, which may be none, and every other
// type with an empty NOERROR answer, so that a client asking for both
// families does not wait for a timeout on the one it will never get. Every other query is forwarded
// verbatim (same ID, same EDNS options) to the host's upstream servers, tried
// in order, and their answer is relayed byte for byte, truncation bit
// included, so a UDP client retries over TCP just as it would with the
// upstream itself. When every upstream fails, the client gets SERVFAIL.
//
// Only clients inside the network's subnet are answered: the gateway is an
// address a LAN host can route to through the host, and the resolver must
// not serve it (an open resolver, and the containers' names for anyone to
// look up). TCP connections are bounded in all and per client.
//
// Lifecycle:
//
//	s, err := Listen(gateway/bits, 53, names, HostUpstreams())
//	...                 // names is called for each query; it must be safe
//	                    // for concurrent use and fast (no I/O)
//	s.Close()           // once the network goes; waits for in-flight queries
//
// The package does no logging: a resolver answers or stays silent, and the
// errors it meets (a client's malformed packet, an upstream timing out) are
// the client's to retry, not the daemon's to report.
package dns
