package distribute

import (
	"errors"
	"fmt"
	"mime"
	"runtime"
	"slices"
	"strings"
	"sync"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// encodedSnapshot is every resource of one role, encoded once for all the
// streams that need a snapshot of them: encoding 100,000 webhooks takes
// about 120 ms, copying the result a few. It stays valid while the role's
// resources are those of revision roleRev in etcd cluster cluster; the view
// revision a snapshot is sent at may be later, since changes to other roles
// or outside the webhooks do not change it. It is never modified.
type encodedSnapshot struct {
	cluster uint64
	roleRev int64
	// resources are what wire encodes, for streams whose codec cannot send
	// wire as it is.
	resources []*hookgatev1.ConfigResource
	// wire is the binary protobuf encoding of the resources as the repeated
	// field StreamConfigResponse.upserts.
	wire []byte
}

// encodeChunk is how many resources one goroutine of encodeSnapshot takes
// at least: fewer are not worth a goroutine.
const encodeChunk = 4096

// encodeSnapshot encodes resources on every CPU: a repeated field's
// encoding is the concatenation of its elements', so parts encoded apart
// join into the whole. A node's cold start waits for this encoding.
func encodeSnapshot(cluster uint64, roleRev int64, resources []*hookgatev1.ConfigResource) (*encodedSnapshot, error) {
	wire, err := encodeResources(resources, max(1, min(runtime.GOMAXPROCS(0), len(resources)/encodeChunk)))
	if err != nil {
		return nil, fmt.Errorf("encode snapshot of %d resources: %w", len(resources), err)
	}
	return &encodedSnapshot{cluster: cluster, roleRev: roleRev, resources: resources, wire: wire}, nil
}

// encodeResources encodes resources as StreamConfigResponse.upserts in
// parts at once.
func encodeResources(resources []*hookgatev1.ConfigResource, parts int) ([]byte, error) {
	encoded := make([][]byte, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(resources)/parts, (i+1)*len(resources)/parts
		wg.Go(func() {
			encoded[i], errs[i] = proto.Marshal(&hookgatev1.StreamConfigResponse{Upserts: resources[lo:hi]})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if parts == 1 {
		return encoded[0], nil
	}
	return slices.Concat(encoded...), nil
}

// message is the snapshot as a StreamConfigResponse at revision rev. For a
// binary protobuf stream the resources travel as already encoded bytes,
// held as the message's unknown fields: marshalling writes them out as
// they are, and protobuf parsers accept fields in any order, so the node
// decodes an ordinary snapshot. Its Upserts are then empty: callers must
// not read the message, only send it. Other codecs (protojson) would drop
// unknown fields, so they get the resources themselves.
func (s *encodedSnapshot) message(rev int64, binary bool) *hookgatev1.StreamConfigResponse {
	m := &hookgatev1.StreamConfigResponse{Revision: rev, Snapshot: true, ClusterId: s.cluster}
	if !binary {
		m.Upserts = s.resources
		return m
	}
	// The full slice expression keeps anything from appending to the
	// shared bytes.
	m.ProtoReflect().SetUnknown(protoreflect.RawFields(s.wire[:len(s.wire):len(s.wire)]))
	return m
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
