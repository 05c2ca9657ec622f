package distribute

import (
	"errors"
	"fmt"
	"mime"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// encodedSnapshot is every resource of one role, encoded once for all the
// streams that need a snapshot of them, by joining the encodings the view
// keeps of each resource (item.wire). It stays valid while the role's
// resources are those of revision roleRev in etcd cluster cluster; the view
// revision a snapshot is sent at may be later, since changes to other roles
// or outside the webhooks do not change it. It is never modified.
//
// It is split into chunks of at most maxChunkBytes each, at resource
// boundaries, so that no message on the stream exceeds gRPC's default 4 MiB
// limit: 1,000,000 webhooks are about 50 chunks, not one 212 MB message.
type encodedSnapshot struct {
	cluster uint64
	roleRev int64
	// resources are what the chunks encode, for streams whose codec cannot
	// send the encoded bytes as they are.
	resources []*hookgatev1.ConfigResource
	// bounds[i] is the index in resources where chunk i starts; its last
	// element is len(resources). A snapshot with no resources has one empty
	// chunk.
	bounds []int
	// wire[i] is the binary protobuf encoding of chunk i's resources as the
	// repeated field StreamConfigResponse.upserts.
	wire [][]byte
}

// maxChunkBytes bounds the upserts of one message of a snapshot or delta:
// gRPC's default limit of 4 MiB on a message, less room for the other
// fields (revision, snapshot, cluster_id, chunks, chunk: under 40 bytes). A
// single resource larger than that travels alone in a larger message; the
// admin API's 4 MiB request limit keeps resources below it.
const maxChunkBytes = 4<<20 - 1<<10

// encodeChunk is how many resources one goroutine of encodeRecords or
// encodeSnapshotChunks encodes at least: fewer are not worth a goroutine.
const encodeChunk = 4096

// encodeSnapshot encodes resources, on every CPU, into chunks of at most
// maxChunkBytes.
func encodeSnapshot(cluster uint64, roleRev int64, resources []*hookgatev1.ConfigResource) (*encodedSnapshot, error) {
	return encodeSnapshotChunks(cluster, roleRev, resources, maxChunkBytes)
}

// encodeSnapshotChunks encodes resources into chunks of at most limit bytes
// (of upserts): each resource as an upserts element, then joined.
func encodeSnapshotChunks(cluster uint64, roleRev int64, resources []*hookgatev1.ConfigResource, limit int) (*encodedSnapshot, error) {
	wires := make([][]byte, len(resources))
	inParts(len(resources), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			wires[i] = upsertWire(resources[i])
		}
	})
	return assembleSnapshot(cluster, roleRev, resources, wires, limit)
}

// upsertWire is res encoded as one element of StreamConfigResponse.upserts
// (tag, length, message), or nil when it cannot be encoded. A repeated
// field's encoding is the concatenation of its elements', so any run of
// these is a valid upserts field by itself, and the view keeps each
// resource's to join into snapshots.
func upsertWire(res *hookgatev1.ConfigResource) []byte {
	b, err := proto.Marshal(&hookgatev1.StreamConfigResponse{Upserts: []*hookgatev1.ConfigResource{res}})
	if err != nil {
		return nil
	}
	return b
}

// encodeRecords fills in the wire of every resource of recs, on every CPU:
// a first load's million records are encoded before they enter the view.
func encodeRecords(recs []record) {
	inParts(len(recs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for role, res := range recs[i].res {
				if res != nil && recs[i].wire[role] == nil {
					recs[i].wire[role] = upsertWire(res)
				}
			}
		}
	})
}

// inParts calls f on consecutive parts of [0, n), on every CPU when n is
// large enough to be worth it.
func inParts(n int, f func(lo, hi int)) {
	parts := max(1, min(runtime.GOMAXPROCS(0), n/encodeChunk))
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*n/parts, (i+1)*n/parts
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// assembleSnapshot cuts the resources, whose upserts elements are wires
// (upsertWire; nil where a resource could not be encoded, which fails the
// snapshot with the encoder's error), into chunks of at most limit bytes,
// each the join of its elements: building a snapshot costs copying bytes.
func assembleSnapshot(cluster uint64, roleRev int64, resources []*hookgatev1.ConfigResource, wires [][]byte, limit int) (*encodedSnapshot, error) {
	sizes := make([]int, len(wires))
	for i, w := range wires {
		if w == nil {
			_, err := proto.Marshal(resources[i])
			if err == nil {
				err = errors.New("not encoded")
			}
			return nil, fmt.Errorf("encode snapshot of %d resources: %s: %w", len(resources), resources[i].GetKey(), err)
		}
		sizes[i] = len(w)
	}
	bounds := chunkBounds(sizes, limit)
	wire := make([][]byte, len(bounds)-1)
	// Chunks are taken in turn by GOMAXPROCS workers.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(wire)) {
		wg.Go(func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= len(wire) {
					return
				}
				n := 0
				for _, sz := range sizes[bounds[c]:bounds[c+1]] {
					n += sz
				}
				b := make([]byte, 0, n)
				for _, w := range wires[bounds[c]:bounds[c+1]] {
					b = append(b, w...)
				}
				wire[c] = b
			}
		})
	}
	wg.Wait()
	return &encodedSnapshot{cluster: cluster, roleRev: roleRev, resources: resources, bounds: bounds, wire: wire}, nil
}

// upsertSize is the encoded size of one element of the upserts field (field
// 3, length-delimited) whose message encodes to n bytes.
func upsertSize(n int) int {
	return protowire.SizeTag(3) + protowire.SizeBytes(n)
}

// chunkBounds cuts elements of these sizes into runs of at most limit bytes
// each, in order; an element larger than limit makes a run of its own. It
// returns where each run starts, then len(sizes): at least one run, empty
// when there are no elements.
func chunkBounds(sizes []int, limit int) []int {
	bounds := []int{0}
	n := 0
	for i, sz := range sizes {
		if n > 0 && n+sz > limit {
			bounds = append(bounds, i)
			n = 0
		}
		n += sz
	}
	return append(bounds, len(sizes))
}

// chunks is how many messages the snapshot is sent in.
func (s *encodedSnapshot) chunks() int { return len(s.bounds) - 1 }

// messages is the snapshot as StreamConfigResponses at revision rev, one
// per chunk: the first has snapshot set, all carry the chunk count and
// their index. For a binary protobuf stream the resources travel as
// already encoded bytes, held as each message's unknown fields:
// marshalling writes them out as they are, and protobuf parsers accept
// fields in any order, so the node decodes an ordinary message. Their
// Upserts are then empty: callers must not read the messages, only send
// them. Other codecs (protojson) would drop unknown fields, so they get the
// resources themselves, cut at the same boundaries (a JSON chunk is larger
// than its binary encoding).
func (s *encodedSnapshot) messages(rev int64, binary bool) []*hookgatev1.StreamConfigResponse {
	n := s.chunks()
	msgs := make([]*hookgatev1.StreamConfigResponse, n)
	for i := range n {
		m := &hookgatev1.StreamConfigResponse{Revision: rev, Snapshot: i == 0, ClusterId: s.cluster}
		if n > 1 {
			m.Chunks, m.Chunk = uint32(n), uint32(i)
		}
		if binary {
			// The full slice expression keeps anything from appending to
			// the shared bytes.
			w := s.wire[i]
			m.ProtoReflect().SetUnknown(protoreflect.RawFields(w[:len(w):len(w)]))
		} else {
			m.Upserts = s.resources[s.bounds[i]:s.bounds[i+1]]
		}
		msgs[i] = m
	}
	return msgs
}

// message is the whole snapshot as one StreamConfigResponse at revision
// rev, as nodes got it before chunks (tests decode it to see the content).
// Like messages, its binary form carries the encoded chunks, joined.
func (s *encodedSnapshot) message(rev int64, binary bool) *hookgatev1.StreamConfigResponse {
	m := &hookgatev1.StreamConfigResponse{Revision: rev, Snapshot: true, ClusterId: s.cluster}
	if !binary {
		m.Upserts = s.resources
		return m
	}
	m.ProtoReflect().SetUnknown(protoreflect.RawFields(slices.Concat(s.wire...)))
	return m
}

// splitDelta cuts a delta whose upserts and deletes encode to more than
// limit bytes into chunks at the same revision, upserts first, each within
// limit; a delta within limit is returned as it is. Deltas are built per
// stream and are usually small, so they are sized when sent rather than
// encoded ahead. A node applies the chunks as one delta, after the last.
func splitDelta(u *hookgatev1.StreamConfigResponse, limit int) []*hookgatev1.StreamConfigResponse {
	if proto.Size(u) <= limit {
		return []*hookgatev1.StreamConfigResponse{u}
	}
	ups, dels := u.GetUpserts(), u.GetDeletes()
	sizes := make([]int, 0, len(ups)+len(dels))
	for _, r := range ups {
		sizes = append(sizes, upsertSize(proto.Size(r)))
	}
	for _, k := range dels {
		sizes = append(sizes, protowire.SizeTag(4)+protowire.SizeBytes(len(k)))
	}
	bounds := chunkBounds(sizes, limit)
	n := len(bounds) - 1
	out := make([]*hookgatev1.StreamConfigResponse, n)
	for i := range n {
		lo, hi := bounds[i], bounds[i+1]
		m := &hookgatev1.StreamConfigResponse{Revision: u.GetRevision(), ClusterId: u.GetClusterId(), Chunks: uint32(n), Chunk: uint32(i)}
		if lo < len(ups) {
			m.Upserts = ups[lo:min(hi, len(ups))]
		}
		if hi > len(ups) {
			m.Deletes = dels[max(lo, len(ups))-len(ups) : hi-len(ups)]
		}
		out[i] = m
	}
	return out
}

// binaryProto reports whether a stream with this request Content-Type
// exchanges binary protobuf: gRPC and gRPC-Web without a codec suffix or
// with "+proto", and the Connect protocol's "application/connect+proto".
// Anything else, JSON included, is not.
func binaryProto(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	base, codec, found := strings.Cut(mt, "+")
	switch base {
	case "application/grpc", "application/grpc-web":
		return !found || codec == "proto"
	case "application/connect":
		return codec == "proto"
	}
	return false
}
