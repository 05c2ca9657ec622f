package dispatch

import (
	"bytes"
	"encoding/json"
	"testing"
)

// referenceOutbound is encoding/json's two-pass decoding. (The decoder
// used before, json.Decoder with More, also let a stray closing bracket
// after the object through: "{}}".)
func referenceOutbound(data []byte) (OutboundMessage, bool) {
	var om OutboundMessage
	err := json.Unmarshal(data, &om)
	return om, err == nil
}

var outboundSeeds = []string{
	`{"id":"msg_1","eventType":"order.created","payload":{"a":[1,2,{"b":"}\"]"}]},"timestamp":"2026-12-02T10:00:00.5Z"}`,
	` {"payload" : [ 1 , "x" ] , "id" : "m" } `,
	`{"ID":"upper","EVENTTYPE":"t","Payload":7}`,
	`{"id":"a","id":null,"payload":null}`,
	`{"id":"a","id":"b","payload":"s","payload":true}`,
	`{"id":1,"payload":{}}`,
	`{"timestamp":"yesterday","payload":{}}`,
	`{"timestamp":null,"payload":-1.5e3}`,
	`{"i\u0064":"escaped key","payload":{}}`,
	`{"id":"x","payload":{}} {}`,
	`{"id":"x","payload":{}`,
	`null`,
	`[1,2]`,
	`"str"`,
	``,
	`{}`,
	`{"payload":{"deep":[[[[{"x":"\\"}]]]]}}`,
	`{}}`,
	`{"unknown":{"id":"inner"},"id":"outer","payload":0}`,
}

func sameOutbound(a, b OutboundMessage) bool {
	return a.ID == b.ID && a.EventType == b.EventType && bytes.Equal(a.Payload, b.Payload) && a.Timestamp.Equal(b.Timestamp)
}

func TestDecodeOutboundAgrees(t *testing.T) {
	for _, s := range outboundSeeds {
		got, gotOK := decodeOutbound([]byte(s))
		want, wantOK := referenceOutbound([]byte(s))
		if gotOK != wantOK || (gotOK && !sameOutbound(got, want)) {
			t.Errorf("%s: decoded %+v %v, encoding/json %+v %v", s, got, gotOK, want, wantOK)
		}
	}
}

// FuzzDecodeOutbound: the one-pass decoding agrees with encoding/json on
// every input, and never panics.
func FuzzDecodeOutbound(f *testing.F) {
	for _, s := range outboundSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotOK := decodeOutbound(data)
		want, wantOK := referenceOutbound(data)
		if gotOK != wantOK || (gotOK && !sameOutbound(got, want)) {
			t.Fatalf("%q: decoded %+v %v, encoding/json %+v %v", data, got, gotOK, want, wantOK)
		}
	})
}

func BenchmarkDecodeOutbound(b *testing.B) {
	data := []byte(`{"id":"msg_1","eventType":"order.created","payload":` + `{"pad":"` + string(bytes.Repeat([]byte("x"), 960)) + `","n":[1,2,3]}` + `,"timestamp":"2026-12-02T10:00:00Z"}`)
	b.Run("one-pass", func(b *testing.B) {
		for b.Loop() {
			decodeOutbound(data)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			referenceOutbound(data)
		}
	})
}
