package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of event types (docs/design.md lists them).
const (
	maxEventTypeName = 128
	// maxSchemaBytes bounds a schema and an example, as JSON.
	maxSchemaBytes = 64 << 10
)

// eventTypeName is dotted segments, each a NATS subject token
// (hookgate.out.{tenant}.{app_id}.{event_type} keeps the dots as levels).
var eventTypeName = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)

// EventTypeService implements hookgatev1connect.EventTypeServiceHandler.
type EventTypeService struct {
	hookgatev1connect.UnimplementedEventTypeServiceHandler
	store *store.Store
	clock Clock
	log   *slog.Logger
}

var _ hookgatev1connect.EventTypeServiceHandler = (*EventTypeService)(nil)

// NewEventTypeService returns the event-type catalog API.
func NewEventTypeService(st *store.Store, clock Clock, log *slog.Logger) *EventTypeService {
	return &EventTypeService{store: st, clock: clock, log: log}
}

// CreateEventType implements hookgatev1connect.EventTypeServiceHandler.
func (s *EventTypeService) CreateEventType(ctx context.Context, req *connect.Request[hookgatev1.CreateEventTypeRequest]) (*connect.Response[hookgatev1.CreateEventTypeResponse], error) {
	in := req.Msg.GetEventType()
	if in == nil {
		return nil, invalid("event_type", "is required")
	}
	if err := validateTenantSlug("event_type.tenant", in.Tenant); err != nil {
		return nil, err
	}
	if err := validateEventTypeName("event_type.name", in.Name); err != nil {
		return nil, err
	}
	if err := validateDescription("event_type.description", in.Description); err != nil {
		return nil, err
	}
	if err := validateSchemaAndExample(in); err != nil {
		return nil, err
	}
	now := timestamppb.New(s.clock.Now())
	et := &hookgatev1.EventType{
		Name: in.Name, Tenant: in.Tenant, Description: in.Description,
		Schema: in.Schema, Example: in.Example, CreateTime: now, UpdateTime: now,
	}
	rec := &storagev1.EventTypeRecord{EventType: et}
	rev, err := s.store.CreateEventType(ctx, rec)
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "event type created", "tenant", et.Tenant, "event_type", et.Name)
	return connect.NewResponse(&hookgatev1.CreateEventTypeResponse{EventType: eventTypePublic(rec, rev)}), nil
}

// GetEventType implements hookgatev1connect.EventTypeServiceHandler.
func (s *EventTypeService) GetEventType(ctx context.Context, req *connect.Request[hookgatev1.GetEventTypeRequest]) (*connect.Response[hookgatev1.GetEventTypeResponse], error) {
	if err := validateEventTypeRef(req.Msg.GetTenant(), req.Msg.GetName()); err != nil {
		return nil, err
	}
	rec, rev, err := s.store.EventType(ctx, req.Msg.GetTenant(), req.Msg.GetName())
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	return connect.NewResponse(&hookgatev1.GetEventTypeResponse{EventType: eventTypePublic(rec, rev)}), nil
}

// ListEventTypes implements hookgatev1connect.EventTypeServiceHandler.
// Archived types are listed only when asked for.
func (s *EventTypeService) ListEventTypes(ctx context.Context, req *connect.Request[hookgatev1.ListEventTypesRequest]) (*connect.Response[hookgatev1.ListEventTypesResponse], error) {
	m := req.Msg
	if err := validateTenantSlug("tenant", m.GetTenant()); err != nil {
		return nil, err
	}
	page, err := pageOf(m.GetPageSize(), m.GetPageToken())
	if err != nil {
		return nil, err
	}
	items, next, err := s.store.ListEventTypes(ctx, m.GetTenant(), page, func(rec *storagev1.EventTypeRecord) bool {
		return m.GetIncludeArchived() || !rec.GetEventType().GetArchived()
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	out := make([]*hookgatev1.EventType, 0, len(items))
	for _, it := range items {
		out = append(out, eventTypePublic(it.Record, it.Revision))
	}
	return connect.NewResponse(&hookgatev1.ListEventTypesResponse{EventTypes: out, NextPageToken: next}), nil
}

// eventTypeUpdatable lists the update_mask paths UpdateEventType accepts.
var eventTypeUpdatable = []string{"description", "schema", "example"}

// UpdateEventType implements hookgatev1connect.EventTypeServiceHandler. The
// example must satisfy the schema as it is after the update.
func (s *EventTypeService) UpdateEventType(ctx context.Context, req *connect.Request[hookgatev1.UpdateEventTypeRequest]) (*connect.Response[hookgatev1.UpdateEventTypeResponse], error) {
	in := req.Msg.GetEventType()
	if in == nil {
		return nil, invalid("event_type", "is required")
	}
	if err := validateTenantSlug("event_type.tenant", in.Tenant); err != nil {
		return nil, err
	}
	if err := validateEventTypeName("event_type.name", in.Name); err != nil {
		return nil, err
	}
	paths, err := maskPaths(req.Msg.GetUpdateMask().GetPaths(), eventTypeUpdatable)
	if err != nil {
		return nil, err
	}
	if err := validateDescription("event_type.description", in.Description); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("event_type.etag", in.Etag)
	if err != nil {
		return nil, err
	}
	rec, rev, err := s.store.UpdateEventType(ctx, in.Tenant, in.Name, ifRev, func(rec *storagev1.EventTypeRecord) error {
		et := rec.EventType
		for _, p := range paths {
			switch p {
			case "description":
				et.Description = in.Description
			case "schema":
				et.Schema = in.Schema
			case "example":
				et.Example = in.Example
			}
		}
		if err := validateSchemaAndExample(et); err != nil {
			return err
		}
		et.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "event type updated", "tenant", in.Tenant, "event_type", in.Name, "fields", strings.Join(paths, ","))
	return connect.NewResponse(&hookgatev1.UpdateEventTypeResponse{EventType: eventTypePublic(rec, rev)}), nil
}

// DeleteEventType implements hookgatev1connect.EventTypeServiceHandler:
// messages and endpoints refer to types by name, so types are archived.
func (s *EventTypeService) DeleteEventType(ctx context.Context, req *connect.Request[hookgatev1.DeleteEventTypeRequest]) (*connect.Response[hookgatev1.DeleteEventTypeResponse], error) {
	if err := validateEventTypeRef(req.Msg.GetTenant(), req.Msg.GetName()); err != nil {
		return nil, err
	}
	return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("event types are not deleted, since their history refers to them; archive it instead"))
}

// ArchiveEventType implements hookgatev1connect.EventTypeServiceHandler.
func (s *EventTypeService) ArchiveEventType(ctx context.Context, req *connect.Request[hookgatev1.ArchiveEventTypeRequest]) (*connect.Response[hookgatev1.ArchiveEventTypeResponse], error) {
	et, err := s.setArchived(ctx, req.Msg.GetTenant(), req.Msg.GetName(), req.Msg.GetEtag(), true)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.ArchiveEventTypeResponse{EventType: et}), nil
}

// UnarchiveEventType implements hookgatev1connect.EventTypeServiceHandler.
func (s *EventTypeService) UnarchiveEventType(ctx context.Context, req *connect.Request[hookgatev1.UnarchiveEventTypeRequest]) (*connect.Response[hookgatev1.UnarchiveEventTypeResponse], error) {
	et, err := s.setArchived(ctx, req.Msg.GetTenant(), req.Msg.GetName(), req.Msg.GetEtag(), false)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&hookgatev1.UnarchiveEventTypeResponse{EventType: et}), nil
}

func (s *EventTypeService) setArchived(ctx context.Context, tenant, name, etag string, archived bool) (*hookgatev1.EventType, error) {
	if err := validateEventTypeRef(tenant, name); err != nil {
		return nil, err
	}
	ifRev, err := etagOf("etag", etag)
	if err != nil {
		return nil, err
	}
	rec, rev, err := s.store.UpdateEventType(ctx, tenant, name, ifRev, func(rec *storagev1.EventTypeRecord) error {
		rec.EventType.Archived = archived
		rec.EventType.UpdateTime = timestamppb.New(s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "event type archived", "tenant", tenant, "event_type", name, "archived", archived)
	return eventTypePublic(rec, rev), nil
}

func validateEventTypeRef(tenant, name string) error {
	if err := validateTenantSlug("tenant", tenant); err != nil {
		return err
	}
	return validateEventTypeName("name", name)
}

func validateEventTypeName(field, name string) error {
	if len(name) > maxEventTypeName || !eventTypeName.MatchString(name) {
		return invalid(field, "%q is not an event type name: at most %d characters, dotted segments of a-z, 0-9, _ and - (e.g. order.created)", name, maxEventTypeName)
	}
	return nil
}

// refuseLoader loads no schema from anywhere: a tenant's $ref must not
// make the control plane read files or fetch URLs. The draft metaschemas
// are built into the library and load without it.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: schemas may only refer to themselves", url)
}

// CompileSchema compiles a JSON Schema given as JSON, draft 2020-12 unless
// it names another with $schema. Nothing outside the schema is loaded.
func CompileSchema(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	const loc = "urn:hookgate:schema"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// SchemaViolation describes why a JSON value fails a schema, naming the
// JSON pointer of the first failing value; it quotes the schema's keyword
// message, never the value itself.
func SchemaViolation(sch *jsonschema.Schema, valueJSON []byte) (pointer, reason string, ok bool) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(valueJSON))
	if err != nil {
		return "", "is not JSON", false
	}
	err = sch.Validate(v)
	if err == nil {
		return "", "", true
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "", "does not satisfy the schema", false
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	var ptr strings.Builder
	for _, tok := range ve.InstanceLocation {
		ptr.WriteByte('/')
		ptr.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return ptr.String(), ve.ErrorKind.LocalizedString(message.NewPrinter(language.English)), false
}

// validateSchemaAndExample compiles the schema and checks the example
// against it.
func validateSchemaAndExample(et *hookgatev1.EventType) error {
	var sch *jsonschema.Schema
	if et.Schema != nil {
		b, err := protojson.Marshal(et.Schema)
		if err != nil {
			return invalid("event_type.schema", "is not JSON")
		}
		if len(b) > maxSchemaBytes {
			return invalid("event_type.schema", "is %d bytes of JSON, at most %d allowed", len(b), maxSchemaBytes)
		}
		if sch, err = CompileSchema(b); err != nil {
			return invalid("event_type.schema", "is not a valid JSON Schema (draft 2020-12): %v", err)
		}
	}
	if et.Example == nil {
		return nil
	}
	b, err := protojson.Marshal(et.Example)
	if err != nil {
		return invalid("event_type.example", "is not JSON")
	}
	if len(b) > maxSchemaBytes {
		return invalid("event_type.example", "is %d bytes of JSON, at most %d allowed", len(b), maxSchemaBytes)
	}
	if sch == nil {
		return nil
	}
	if ptr, reason, ok := SchemaViolation(sch, b); !ok {
		return invalid("event_type.example", "does not satisfy the schema at %q: %s", ptr, reason)
	}
	return nil
}

// eventTypePublic is the API view of a record, with its etag.
func eventTypePublic(rec *storagev1.EventTypeRecord, rev int64) *hookgatev1.EventType {
	et := proto.CloneOf(rec.GetEventType())
	et.Etag = strconvRev(rev)
	return et
}
