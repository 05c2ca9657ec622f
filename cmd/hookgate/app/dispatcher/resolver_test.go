package dispatcher

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// serveDNS answers every A query on a local UDP port with 127.0.0.2 and
// every other query with no answer; it returns the host:port.
func serveDNS(t *testing.T) string {
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
			if resp := answerA(buf[:n], [4]byte{127, 0, 0, 2}); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// answerA builds the response to a one-question query: an A record for ip
// when it asks for A, none otherwise.
func answerA(q []byte, ip [4]byte) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // the root label, qtype, qclass
	if end > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[end-4:])
	resp := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:end]...)
	if qtype == 1 {
		resp[7] = 1
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4)
		resp = append(resp, ip[:]...)
	}
	return resp
}

func TestResolverFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, addr, wantErr string
	}{
		{"empty is the system's", "", ""},
		{"host and port", "127.0.0.1:53", ""},
		{"no port", "127.0.0.1", "flag --resolver"},
		{"no host", ":53", "flag --resolver"},
		{"no port number", "127.0.0.1:", "flag --resolver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Resolver: tc.addr}.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
	if r, err := newResolver(""); r != nil || err != nil {
		t.Fatalf("newResolver(\"\") = %v, %v; want nil, nil (the system's)", r, err)
	}

	// The resolver asks the named server only: it answers 127.0.0.2 for a
	// name no other server knows.
	r, err := newResolver(serveDNS(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "hooks.hookgate.invalid")
	if err != nil || !slices.Equal(addrs, []string{"127.0.0.2"}) {
		t.Fatalf("LookupHost through --resolver = %v, %v; want [127.0.0.2]", addrs, err)
	}
}
