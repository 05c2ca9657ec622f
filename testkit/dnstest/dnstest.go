// Package dnstest is a DNS server for tests: it answers A and AAAA
// queries for names it is given, so a dispatcher's --resolver can make a
// name resolve to an address its SSRF policy must refuse.
package dnstest

import (
	binenc "encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// Serve answers DNS queries on a local UDP port: A and AAAA records
// of names (lower case, without the final dot; "*" answers for every
// other name), nothing for other names or types. It returns host:port for
// --resolver.
func Serve(t testing.TB, names map[string]netip.Addr) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := answer(buf[:n], names); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// answer is the response to a one-question query.
func answer(q []byte, names map[string]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	end := 12
	for end < len(q) && q[end] != 0 {
		l := int(q[end])
		if end+1+l > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[end+1:end+1+l])))
		end += l + 1
	}
	end += 5 // the root label, qtype and qclass
	if end > len(q) {
		return nil
	}
	resp := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:end]...)
	addr, ok := names[strings.Join(labels, ".")]
	if !ok {
		addr, ok = names["*"]
	}
	qtype := binenc.BigEndian.Uint16(q[end-4:])
	switch {
	case ok && qtype == 1 && addr.Is4():
		resp[7] = 1
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4)
		resp = append(resp, addr.AsSlice()...)
	case ok && qtype == 28 && addr.Is6():
		resp[7] = 1
		resp = append(resp, 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 0, 0, 16)
		resp = append(resp, addr.AsSlice()...)
	}
	return resp
}
