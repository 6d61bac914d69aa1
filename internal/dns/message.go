package dns

import (
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// ttl is how long clients may cache our own answers. Docker says 600 s; ours
// is shorter because containers come and go, and a stale address costs more
// than a repeated query over a local bridge.
const ttl = 60

// minUDPSize is the largest UDP answer every client accepts (RFC 1035).
const minUDPSize = 512

// query is what the handler needs to know about a client's message.
type query struct {
	header   dnsmessage.Header
	question dnsmessage.Question
	// udpSize is the largest UDP answer the client accepts: 512, or the size
	// it advertised in an EDNS OPT record.
	udpSize int
}

// parse reads the header, the first question and the EDNS size of a client's
// message. A message without a question, or one that does not parse that
// far, is an error: it gets no answer, since there is nothing to echo.
func parse(msg []byte) (q query, err error) {
	var p dnsmessage.Parser
	if q.header, err = p.Start(msg); err != nil {
		return q, err
	}
	if q.question, err = p.Question(); err != nil {
		return q, err
	}
	q.udpSize = minUDPSize
	if err := p.SkipAllQuestions(); err != nil {
		return q, err
	}
	if err := p.SkipAllAnswers(); err != nil {
		return q, err
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return q, err
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			// The OPT record is optional and a broken additional section
			// does not stop us answering the question.
			return q, nil
		}
		if h.Type == dnsmessage.TypeOPT {
			q.udpSize = max(minUDPSize, int(h.Class))
			return q, nil
		}
		if err := p.SkipAdditional(); err != nil {
			return q, nil
		}
	}
}

// canonical turns a question's name into the form names expects: lower case,
// no trailing dot.
func canonical(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}

// reply builds a response to q with the given code and records; the records
// must be of q's family (netip.Addr.Is4 for A, otherwise AAAA). When the
// answer would not fit in limit bytes it goes out empty with the TC bit set,
// so the client retries over TCP.
func reply(q query, rcode dnsmessage.RCode, addrs []netip.Addr, limit int) []byte {
	msg, err := build(q, rcode, addrs, false)
	if err == nil && len(msg) > limit {
		msg, err = build(q, rcode, nil, true)
	}
	if err != nil {
		// Only a question we could parse reaches here, so building cannot
		// fail; answering nothing is the safe fallback.
		return nil
	}
	return msg
}

func build(q query, rcode dnsmessage.RCode, addrs []netip.Addr, truncated bool) ([]byte, error) {
	h := dnsmessage.Header{
		ID:                 q.header.ID,
		Response:           true,
		OpCode:             q.header.OpCode,
		Authoritative:      rcode == dnsmessage.RCodeSuccess,
		Truncated:          truncated,
		RecursionDesired:   q.header.RecursionDesired,
		RecursionAvailable: true,
		RCode:              rcode,
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, minUDPSize), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q.question); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.question.Name, Class: dnsmessage.ClassINET, TTL: ttl}
	for _, a := range addrs {
		var err error
		if a.Is4() {
			rh.Type = dnsmessage.TypeA
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			rh.Type = dnsmessage.TypeAAAA
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
