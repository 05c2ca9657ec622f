package rest

import (
	"fmt"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// restCodec is vanguard's JSON codec with a body that does not parse
// reported as invalid_argument (400): vanguard reports a codec's plain
// error as unknown (500).
type restCodec struct{ *vanguard.JSONCodec }

func newRESTCodec(res vanguard.TypeResolver) vanguard.Codec {
	return restCodec{vanguard.NewJSONCodec(res)}
}

func (c restCodec) Unmarshal(data []byte, msg proto.Message) error {
	if err := c.JSONCodec.Unmarshal(data, msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("request body: %w", err))
	}
	return nil
}

func (c restCodec) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	if err := c.JSONCodec.UnmarshalField(data, msg, field); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("request body: %w", err))
	}
	return nil
}
