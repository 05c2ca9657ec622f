package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const (
	tenant    = "soak"
	eventType = "soak.tick"
	// endpointTimeoutMS bounds one delivery, so a receiver that times out
	// costs a second per attempt.
	endpointTimeoutMS = 1000
)

// retrySchedule is the tenant's schedule before --retry-time-scale: nine
// attempts over 86 min, 52 s at a scale of 0.01, longer than a fault
// (half a fault period, at most 30 s), so a message sent into a fault is
// delivered after it without running out of attempts.
var retrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	15 * time.Minute, 15 * time.Minute, 15 * time.Minute, 10 * time.Minute}

// retrySpan is how long the retry schedule lasts at scale.
func retrySpan(scale float64) time.Duration {
	var d time.Duration
	for _, s := range retrySchedule {
		d += s
	}
	return time.Duration(float64(d) * scale)
}

// admin holds the generated clients of the admin API, authenticated with
// the platform token.
type admin struct {
	tenants   hookgatev1connect.TenantServiceClient
	apps      hookgatev1connect.ApplicationServiceClient
	types     hookgatev1connect.EventTypeServiceClient
	endpoints hookgatev1connect.EndpointServiceClient
	webhooks  hookgatev1connect.InboundWebhookServiceClient
	nodes     hookgatev1connect.EdgeServiceClient
}

func newAdmin(baseURL, token string) *admin {
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
	hc := &http.Client{Timeout: 10 * time.Second}
	o := connect.WithInterceptors(auth)
	return &admin{
		tenants:   hookgatev1connect.NewTenantServiceClient(hc, baseURL, o),
		apps:      hookgatev1connect.NewApplicationServiceClient(hc, baseURL, o),
		types:     hookgatev1connect.NewEventTypeServiceClient(hc, baseURL, o),
		endpoints: hookgatev1connect.NewEndpointServiceClient(hc, baseURL, o),
		webhooks:  hookgatev1connect.NewInboundWebhookServiceClient(hc, baseURL, o),
		nodes:     hookgatev1connect.NewEdgeServiceClient(hc, baseURL, o),
	}
}

// fixture is what the load uses: one GENERIC webhook and one application
// per receiver, each with one endpoint subscribed to eventType.
type fixture struct {
	webhookID string
	key       string // the webhook's current key
	producer  string // hgp_ token for SendMessage
	appIDs    []string
	endpoints []string
}

func setUp(ctx context.Context, a *admin, receivers []*receiver) (*fixture, error) {
	f := &fixture{}
	if _, err := a.tenants.CreateTenant(ctx, connect.NewRequest(&hookgatev1.CreateTenantRequest{
		Tenant: &hookgatev1.Tenant{Id: tenant, AllowHttpEndpoints: true}})); err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", tenant, err)
	}
	rs := &hookgatev1.RetrySchedule{}
	for _, d := range retrySchedule {
		rs.Delays = append(rs.Delays, durationpb.New(d))
	}
	tr, err := a.tenants.UpdateTenant(ctx, connect.NewRequest(&hookgatev1.UpdateTenantRequest{
		Tenant:     &hookgatev1.Tenant{Id: tenant, RetrySchedule: rs},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retry_schedule"}}}))
	if err != nil {
		return nil, fmt.Errorf("set the retry schedule of %s: %w", tenant, err)
	}
	dispRev := etagRev(tr.Msg.GetTenant().GetEtag())
	tok, err := a.tenants.CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{
		Tenant: tenant, Description: "soak producer", Kind: hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_PRODUCER}))
	if err != nil {
		return nil, fmt.Errorf("create producer token: %w", err)
	}
	f.producer = tok.Msg.GetToken()
	if _, err := a.types.CreateEventType(ctx, connect.NewRequest(&hookgatev1.CreateEventTypeRequest{
		EventType: &hookgatev1.EventType{Tenant: tenant, Name: eventType}})); err != nil {
		return nil, fmt.Errorf("create event type %s: %w", eventType, err)
	}
	for i, r := range receivers {
		app, err := a.apps.CreateApplication(ctx, connect.NewRequest(&hookgatev1.CreateApplicationRequest{
			Application: &hookgatev1.Application{Tenant: tenant, Name: fmt.Sprintf("soak-%d", i)}}))
		if err != nil {
			return nil, fmt.Errorf("create application %d: %w", i, err)
		}
		ep, err := a.endpoints.CreateEndpoint(ctx, connect.NewRequest(&hookgatev1.CreateEndpointRequest{
			Endpoint: &hookgatev1.Endpoint{Tenant: tenant, ApplicationId: app.Msg.GetApplication().GetId(),
				Url: r.URL + "/hook", EventTypes: []string{eventType}, TimeoutMs: endpointTimeoutMS}}))
		if err != nil {
			return nil, fmt.Errorf("create endpoint %d: %w", i, err)
		}
		f.appIDs = append(f.appIDs, app.Msg.GetApplication().GetId())
		f.endpoints = append(f.endpoints, ep.Msg.GetEndpoint().GetId())
		dispRev = max(dispRev, etagRev(ep.Msg.GetEndpoint().GetEtag()))
	}
	wh, err := a.webhooks.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{
		Webhook: loadWebhook("soak-load")}))
	if err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	f.webhookID, f.key = wh.Msg.GetWebhook().GetId(), wh.Msg.GetApiKey()
	// Created last, so an edge holding it holds the token, the type and
	// the applications too.
	edgeRev := etagRev(wh.Msg.GetWebhook().GetEtag())
	if err := a.waitNode(ctx, hookgatev1.NodeRole_NODE_ROLE_DISPATCHER, dispRev, 30*time.Second); err != nil {
		return nil, err
	}
	if err := a.waitNode(ctx, hookgatev1.NodeRole_NODE_ROLE_EDGE, edgeRev, 30*time.Second); err != nil {
		return nil, err
	}
	return f, nil
}

func loadWebhook(name string) *hookgatev1.Webhook {
	return &hookgatev1.Webhook{Tenant: tenant, Name: name, Provider: hookgatev1.Provider_PROVIDER_GENERIC,
		Bindings: []*hookgatev1.Binding{{ProcessId: "soak", Trigger: hookgatev1.Trigger_TRIGGER_START_PROCESS}}}
}

// etagRev is the store revision an etag holds; 0 for none.
func etagRev(etag string) int64 {
	n, _ := strconv.ParseInt(etag, 10, 64)
	return n
}

// waitNode polls until dev's node of role acknowledged revision rev. A
// role's revision moves only with what it is sent (a webhook is no
// dispatcher's business), so each change is awaited on its own role.
func (a *admin) waitNode(ctx context.Context, role hookgatev1.NodeRole, rev int64, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		nodes, err := a.nodes.ListNodes(ctx, connect.NewRequest(&hookgatev1.ListNodesRequest{Role: role}))
		if err == nil {
			for _, n := range nodes.Msg.GetNodes() {
				if n.GetConfigRevision() >= rev {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s to hold revision %d within %s: %w", role, rev, within, ctx.Err())
		case <-t.C:
		}
	}
}
