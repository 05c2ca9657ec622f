package dispatch

import (
	"encoding/json"
	"time"
)

// Operational events (DESIGN.md "Outbound contract"): core NATS on
// hookgate.ops.{tenant}.{event}, see docs/design.md "Operational events".
const (
	OpsAttemptExhausted = "message.attempt.exhausted"
	OpsEndpointDisabled = "endpoint.disabled"
	OpsEndpointEnabled  = "endpoint.enabled"
)

// OpsSubject is the subject of a tenant's operational event.
func OpsSubject(tenant, event string) string {
	return "hookgate.ops." + tenant + "." + event
}

// AttemptExhausted is the body of a message.attempt.exhausted event: a
// delivery ended failed after the last attempt of its schedule.
type AttemptExhausted struct {
	Tenant         string     `json:"tenant"`
	MessageID      string     `json:"messageId"`
	EndpointID     string     `json:"endpointId"`
	AppID          string     `json:"appId,omitempty"`
	EventType      string     `json:"eventType,omitempty"`
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"lastStatusCode,omitempty"`
	LastErrorClass ErrorClass `json:"lastErrorClass,omitempty"`
	Time           time.Time  `json:"time"`
}

// publishExhausted sends the exhausted event of d, fire and forget: the
// delivery's state in the bucket is the record, the event a notice.
func (e *Engine) publishExhausted(tenant string, d *Delivery, at time.Time) {
	nc := e.js.Conn()
	if nc == nil {
		return
	}
	ev := AttemptExhausted{
		Tenant: tenant, MessageID: d.MessageID, EndpointID: d.EndpointID, AppID: d.AppID, EventType: d.EventType,
		Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastErrorClass: d.LastErrorClass, Time: at.UTC(),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		e.log.Error("encode ops event", "err", err)
		return
	}
	if err := nc.Publish(OpsSubject(tenant, OpsAttemptExhausted), data); err != nil {
		e.log.Warn("publish ops event", "event", OpsAttemptExhausted, "tenant", tenant, "endpoint_id", d.EndpointID, "err", err)
	}
}
