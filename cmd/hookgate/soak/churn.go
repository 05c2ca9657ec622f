package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// churner changes the configuration once per tick through the admin API,
// cycling through: create a webhook, update an endpoint's headers, delete
// the webhook, rotate the load webhook's key, create, update an endpoint's
// rate limit, delete, rotate. Each change is an etcd transaction that the
// control plane streams to the edge and the dispatcher while they serve
// the load.
type churner struct {
	a    *admin
	fx   *fixture
	load *loader
	rec  *recorder // one success per change, with its latency

	step      int
	churnHook string // id of the created webhook, "" when none
	limited   string // endpoint holding a rate limit, "" when none
	limits    int    // rate limits set so far (the next goes to the next endpoint)
	created   int
}

var churnCycle = []string{"create webhook", "endpoint headers", "delete webhook", "rotate key",
	"create webhook", "endpoint rate limit", "delete webhook", "rotate key"}

// run makes one change per period until ctx ends.
func (c *churner) run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		op := churnCycle[c.step%len(churnCycle)]
		start := time.Now()
		opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := c.change(opCtx, op)
		cancel()
		if err != nil {
			c.rec.fail("churn " + op + ": " + connect.CodeOf(err).String())
		} else {
			c.rec.ok(time.Since(start))
		}
		c.step++
	}
}

func (c *churner) change(ctx context.Context, op string) error {
	ep := c.fx.endpoints[(c.step/len(churnCycle))%len(c.fx.endpoints)]
	switch op {
	case "create webhook":
		if c.churnHook != "" {
			return nil
		}
		c.created++
		wh, err := c.a.webhooks.CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{
			Webhook: loadWebhook(fmt.Sprintf("soak-churn-%d", c.created))}))
		if err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		c.churnHook = wh.Msg.GetWebhook().GetId()
	case "delete webhook":
		if c.churnHook == "" {
			return nil
		}
		if _, err := c.a.webhooks.DeleteWebhook(ctx, connect.NewRequest(&hookgatev1.DeleteWebhookRequest{
			Tenant: tenant, WebhookId: c.churnHook})); err != nil {
			return fmt.Errorf("delete webhook %s: %w", c.churnHook, err)
		}
		c.churnHook = ""
	case "endpoint headers":
		_, err := c.a.endpoints.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
			Endpoint:   &hookgatev1.Endpoint{Tenant: tenant, Id: ep, Headers: map[string]string{"X-Soak-Step": strconv.Itoa(c.step)}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"headers"}}}))
		if err != nil {
			return fmt.Errorf("update headers of %s: %w", ep, err)
		}
	case "endpoint rate limit":
		// Every other time a limit far above the endpoint's share of the
		// load (every attempt then takes a token from the shared bucket),
		// the next time none on the same endpoint.
		limit, target := int32(100000), c.fx.endpoints[c.limits%len(c.fx.endpoints)]
		if c.limited != "" {
			limit, target = 0, c.limited
		}
		_, err := c.a.endpoints.UpdateEndpoint(ctx, connect.NewRequest(&hookgatev1.UpdateEndpointRequest{
			Endpoint:   &hookgatev1.Endpoint{Tenant: tenant, Id: target, RateLimitPerSecond: limit},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"rate_limit_per_second"}}}))
		if err != nil {
			return fmt.Errorf("update rate limit of %s: %w", target, err)
		}
		if limit > 0 {
			c.limited = target
			c.limits++
		} else {
			c.limited = ""
		}
	case "rotate key":
		return c.rotate(ctx)
	}
	return nil
}

// rotate gives the load webhook a new key. The previous key stays valid
// for the grace period (default 24 h), so the load keeps using it until
// the edge holds the new one; only then does it switch, before the next
// rotation ends the grace of the key it was using.
func (c *churner) rotate(ctx context.Context) error {
	r, err := c.a.webhooks.RotateWebhookKey(ctx, connect.NewRequest(&hookgatev1.RotateWebhookKeyRequest{
		Tenant: tenant, WebhookId: c.fx.webhookID}))
	if err != nil {
		return fmt.Errorf("rotate the key of %s: %w", c.fx.webhookID, err)
	}
	if err := c.a.waitNode(ctx, hookgatev1.NodeRole_NODE_ROLE_EDGE, etagRev(r.Msg.GetWebhook().GetEtag()), 10*time.Second); err != nil {
		return fmt.Errorf("rotated key of %s: %w", c.fx.webhookID, err)
	}
	c.load.setKey(r.Msg.GetApiKey())
	return nil
}

// faulter makes one receiver at a time fail: every period the next one
// answers 500 (even turns) or hangs past the endpoint's timeout (odd
// turns) for the first half of the period, then recovers.
type faulter struct {
	receivers []*receiver
	mu        sync.Mutex
	current   string // "ep2 500" while one fails
	episodes  int
}

func (f *faulter) run(ctx context.Context, period time.Duration) {
	for turn := 0; ; turn++ {
		r := f.receivers[turn%len(f.receivers)]
		m := fail500
		if turn%2 == 1 {
			m = hang
		}
		r.setMode(m, time.Now())
		f.mu.Lock()
		f.current = fmt.Sprintf("ep%d %s", turn%len(f.receivers), m)
		f.episodes++
		f.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(period / 2):
		}
		r.setMode(healthy, time.Now())
		f.mu.Lock()
		f.current = ""
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(period - period/2):
		}
	}
}

// failing names the receiver failing now, "" for none.
func (f *faulter) failing() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}
