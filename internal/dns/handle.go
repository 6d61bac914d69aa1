package dns

import (
	"context"
	"net/netip"

	"golang.org/x/net/dns/dnsmessage"
)

// maxTCPSize bounds an answer over TCP, whose length prefix is 16 bits.
const maxTCPSize = 65535

// handle answers one client message, locally or through the upstreams, and
// returns nil when the message deserves no answer.
func (s *Server) handle(ctx context.Context, msg []byte, tcp bool) []byte {
	resp, q, fwd := s.answer(msg, tcp)
	if !fwd {
		return resp
	}
	if !s.acquire() {
		return reply(q, dnsmessage.RCodeServerFailure, nil, limit(q, tcp))
	}
	defer s.release()
	return s.forward(ctx, msg, q, tcp)
}

// answer handles what needs no upstream: malformed messages and responses
// (nil, dropped), other opcodes (NOTIMP) and names the network owns. fwd is
// true when msg must go to the upstreams instead.
func (s *Server) answer(msg []byte, tcp bool) (resp []byte, q query, fwd bool) {
	q, err := parse(msg)
	if err != nil || q.header.Response {
		return nil, q, false
	}
	if q.header.OpCode != 0 {
		return reply(q, dnsmessage.RCodeNotImplemented, nil, limit(q, tcp)), q, false
	}
	addrs, ours := s.lookup(q.question)
	if !ours {
		return nil, q, true
	}
	return reply(q, dnsmessage.RCodeSuccess, addrs, limit(q, tcp)), q, false
}

// lookup asks names about the question. ours is false for a name the network
// does not own; otherwise addrs are those of the question's type, possibly
// none: an AAAA query for an IPv4-only container gets an empty NOERROR answer
// at once rather than a forwarded NXDOMAIN or a timeout.
func (s *Server) lookup(qn dnsmessage.Question) (addrs []netip.Addr, ours bool) {
	if s.names == nil || (qn.Class != dnsmessage.ClassINET && qn.Class != dnsmessage.ClassANY) {
		return nil, false
	}
	all := s.names(canonical(qn.Name))
	if len(all) == 0 {
		return nil, false
	}
	for _, a := range all {
		a = a.Unmap()
		switch {
		case qn.Type == dnsmessage.TypeA && a.Is4(),
			qn.Type == dnsmessage.TypeAAAA && a.Is6(),
			qn.Type == dnsmessage.TypeALL && a.IsValid():
			addrs = append(addrs, a)
		}
	}
	return addrs, true
}

// limit is the largest answer the client accepts over its transport.
func limit(q query, tcp bool) int {
	if tcp {
		return maxTCPSize
	}
	return q.udpSize
}
