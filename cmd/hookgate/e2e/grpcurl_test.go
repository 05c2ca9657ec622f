package e2e

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// grpcurl calls method ("pkg.Service/Method") the way grpcurl does: it learns
// the schema from the server's reflection service, builds the request from
// JSON with dynamic messages, and returns the response as JSON.
func grpcurl(t *testing.T, conn *grpc.ClientConn, token, method, reqJSON string) (string, error) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	defer func() { _ = stream.CloseSend() }()
	svcName, methodName := splitMethod(method)
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svcName},
	}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection recv: %v", err)
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			t.Fatalf("descriptor: %v", err)
		}
		set.File = append(set.File, fd)
	}
	// Reflection sends the file and its dependencies; well-known types come
	// from the global registry when the server left them out.
	files, err := protodesc.NewFiles(withWellKnown(set))
	if err != nil {
		t.Fatalf("descriptors: %v", err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svcName))
	if err != nil {
		t.Fatalf("service %s not in reflection: %v", svcName, err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(methodName))
	if md == nil {
		t.Fatalf("method %s not in reflection", method)
	}
	in, out := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
	if err := protojson.Unmarshal([]byte(reqJSON), in); err != nil {
		t.Fatalf("request JSON: %v", err)
	}
	if err := conn.Invoke(ctx, "/"+method, in, out); err != nil {
		return "", err
	}
	b, err := protojson.Marshal(out)
	if err != nil {
		t.Fatalf("response JSON: %v", err)
	}
	return string(b), nil
}

func splitMethod(m string) (string, string) {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i] == '/' {
			return m[:i], m[i+1:]
		}
	}
	panic(fmt.Sprintf("method %q has no '/'", m))
}

func withWellKnown(set *descriptorpb.FileDescriptorSet) *descriptorpb.FileDescriptorSet {
	have := map[string]bool{}
	for _, f := range set.File {
		have[f.GetName()] = true
	}
	for _, f := range set.File {
		for _, dep := range f.GetDependency() {
			if have[dep] {
				continue
			}
			if fd, err := protoregistry.GlobalFiles.FindFileByPath(dep); err == nil {
				set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
				have[dep] = true
			}
		}
	}
	return set
}
