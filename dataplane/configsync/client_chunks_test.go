package configsync_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/dataplane/configsync"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// chunksOf cuts u into n chunks as the control plane does: chunk 0 keeps
// snapshot, the others do not.
func chunksOf(u *hookgatev1.StreamConfigResponse, n int) []*hookgatev1.StreamConfigResponse {
	out := make([]*hookgatev1.StreamConfigResponse, n)
	for i := range n {
		lo, hi := i*len(u.Upserts)/n, (i+1)*len(u.Upserts)/n
		out[i] = &hookgatev1.StreamConfigResponse{Revision: u.Revision, ClusterId: u.ClusterId, Snapshot: u.Snapshot && i == 0,
			Upserts: u.Upserts[lo:hi], Chunks: uint32(n), Chunk: uint32(i)}
	}
	out[n-1].Deletes = u.Deletes
	return out
}

func webhooks(prefix string, n int) []*hookgatev1.ConfigResource {
	rs := make([]*hookgatev1.ConfigResource, n)
	for i := range rs {
		rs[i] = res("acme", fmt.Sprintf("%s_%d", prefix, i), int64(i+1))
	}
	return rs
}

// TestClientChunkedUpdates: a chunked snapshot cut off, then one with a
// chunk out of order, leave the old table serving and end the session;
// the next session's complete one is applied at its last chunk and
// answered once; a chunked delta with a bad chunk is NACKed once, at its
// end.
func TestClientChunkedUpdates(t *testing.T) {
	fake, url := startFake(t)
	answers := make(chan *hookgatev1.StreamConfigRequest, 8)
	ended := make(chan string, 8)
	big := chunksOf(snapshot(9, webhooks("new", 90)...), 3)

	sendAll := func(s *session, us ...*hookgatev1.StreamConfigResponse) error {
		for _, u := range us {
			if err := s.send(u); err != nil {
				return err
			}
		}
		return nil
	}
	waitEnd := func(s *session, what string) error {
		<-s.ctx.Done()
		ended <- what
		return nil
	}
	// 1: a whole snapshot, ACKed; then a chunked one cut after 2 of 3.
	fake.scripts <- func(s *session) error {
		if err := s.send(snapshot(5, res("acme", "old", 1))); err != nil {
			return err
		}
		a, err := s.answer()
		if err != nil {
			return err
		}
		answers <- a
		if err := sendAll(s, big[:2]...); err != nil {
			return err
		}
		return connect.NewError(connect.CodeUnavailable, errors.New("cut mid-snapshot"))
	}
	// 2: chunk 0, then chunk 2: the node ends the stream.
	fake.scripts <- func(s *session) error {
		if err := sendAll(s, big[0], big[2]); err != nil {
			return err
		}
		return waitEnd(s, "out of order")
	}
	// 3: a chunk 1 with no chunk 0.
	fake.scripts <- func(s *session) error {
		if err := s.send(big[1]); err != nil {
			return err
		}
		return waitEnd(s, "no first chunk")
	}
	// 4: the whole chunked snapshot, then a delta: two answers, 9 then 10.
	// Then a chunked delta whose first chunk is bad.
	fake.scripts <- func(s *session) error {
		if err := sendAll(s, big...); err != nil {
			return err
		}
		for _, u := range []*hookgatev1.StreamConfigResponse{delta(10, nil, res("acme", "d10", 1))} {
			if err := s.send(u); err != nil {
				return err
			}
		}
		for range 2 {
			a, err := s.answer()
			if err != nil {
				return err
			}
			answers <- a
		}
		bad := chunksOf(delta(11, []string{configsync.ResourceKey("acme", "new_0")}, res("acme", "d11a", 1), res("acme", "d11b", 1)), 2)
		bad[0].Upserts = []*hookgatev1.ConfigResource{{Key: "endpoint/acme/ep_1"}}
		good := chunksOf(delta(12, []string{configsync.ResourceKey("acme", "new_1")}, res("acme", "d12a", 1), res("acme", "d12b", 1)), 2)
		if err := sendAll(s, append(bad, good...)...); err != nil {
			return err
		}
		for range 2 {
			a, err := s.answer()
			if err != nil {
				return err
			}
			answers <- a
		}
		return waitEnd(s, "done")
	}

	tb := configsync.NewTable()
	cfg := validConfig()
	cfg.ControlPlaneURL = url
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 10*time.Millisecond
	startClient(t, cfg, tb)

	if h := recv(t, fake.hellos); h.GetRevision() != 0 {
		t.Errorf("first hello: revision %d, want 0", h.GetRevision())
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 5 {
		t.Fatalf("answer to the whole snapshot = %v, want ACK 5", a)
	}
	for _, prev := range []string{"cut", "out of order", "no first chunk"} {
		h := recv(t, fake.hellos)
		if h.GetRevision() != 5 {
			t.Errorf("hello after the %s session: revision %d, want 5 (the broken snapshot is not held)", prev, h.GetRevision())
		}
		if prev != "cut" {
			if got := recv(t, ended); got != prev {
				t.Errorf("session ended: %q, want %q", got, prev)
			}
		}
		if s := tb.Snapshot(); s.Revision != 5 || s.Len() != 1 {
			t.Fatalf("after the %s session the table is at %d with %d webhooks, want the old 5 with 1", prev, s.Revision, s.Len())
		}
		if _, ok := tb.Webhook("acme", "old"); !ok {
			t.Fatalf("old webhook gone after the %s session", prev)
		}
	}
	// One answer for the three chunks: the next is the delta's.
	if a := recv(t, answers); a.GetAck().GetRevision() != 9 {
		t.Fatalf("answer to the chunked snapshot = %v, want ACK 9", a)
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 10 {
		t.Fatalf("answer after the chunked snapshot = %v, want ACK 10 (one answer per update)", a)
	}
	a := recv(t, answers)
	if a.GetNack().GetRevision() != 11 || a.GetNack().GetReason() == "" {
		t.Errorf("answer to the chunked delta with a bad chunk = %v, want NACK 11", a)
	}
	if a := recv(t, answers); a.GetAck().GetRevision() != 12 {
		t.Errorf("answer to the chunked delta = %v, want ACK 12", a)
	}
	s := tb.Snapshot()
	if s.Revision != 12 || s.Len() != 90+1+2-1 {
		t.Errorf("table at %d with %d webhooks, want 12 with 92", s.Revision, s.Len())
	}
	for _, id := range []string{"new_0", "new_89", "d10", "d12a", "d12b"} {
		if _, ok := s.Webhook("acme", id); !ok {
			t.Errorf("%s missing", id)
		}
	}
	for _, id := range []string{"old", "new_1", "d11a"} {
		if _, ok := s.Webhook("acme", id); ok {
			t.Errorf("%s in the table", id)
		}
	}
}
