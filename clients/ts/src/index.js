// Hookgate client: the generated Connect clients of every service, with the
// token sent as Authorization: Bearer, and helpers for the inbound and
// outbound lifecycles. Types are in index.d.ts.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ApplicationService } from "../gen/hookgate/v1/application_pb.js";
import { AttemptService } from "../gen/hookgate/v1/attempt_pb.js";
import { ConfigParamService } from "../gen/hookgate/v1/config_param_pb.js";
import { EdgeService } from "../gen/hookgate/v1/edge_pb.js";
import { EndpointService } from "../gen/hookgate/v1/endpoint_pb.js";
import { EventTypeService } from "../gen/hookgate/v1/event_type_pb.js";
import { InboundWebhookService, Provider, Trigger } from "../gen/hookgate/v1/inbound_pb.js";
import { MessageService } from "../gen/hookgate/v1/message_pb.js";
import { TenantService } from "../gen/hookgate/v1/tenant_pb.js";

export { Provider, Trigger };

function bearer(token) {
  return (next) => async (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
}

function transport(baseUrl, token) {
  return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] });
}

/**
 * createHookgate returns a client of every admin service on adminUrl and of
 * SendMessage on edgeUrl (the edge port), all sending token.
 */
export function createHookgate({ adminUrl, edgeUrl, token }) {
  if (!adminUrl || !token) throw new Error("hookgate: adminUrl and token are required");
  const admin = transport(adminUrl, token);
  const edge = edgeUrl ? transport(edgeUrl, token) : undefined;
  return {
    tenants: createClient(TenantService, admin),
    webhooks: createClient(InboundWebhookService, admin),
    params: createClient(ConfigParamService, admin),
    apps: createClient(ApplicationService, admin),
    eventTypes: createClient(EventTypeService, admin),
    endpoints: createClient(EndpointService, admin),
    messages: createClient(MessageService, admin),
    attempts: createClient(AttemptService, admin),
    nodes: createClient(EdgeService, admin),
    producer: edge ? createClient(MessageService, edge) : undefined,
  };
}

/** createWebhook registers a webhook that starts processId; returns {webhook, apiKey, urlWithKey}. */
export async function createWebhook(hg, tenant, { name, processId, provider = Provider.GENERIC, providerSecrets = {} }) {
  return hg.webhooks.createWebhook({
    webhook: { tenant, name, provider, providerSecrets, bindings: [{ processId, trigger: Trigger.START_PROCESS }] },
  });
}

/** rotateKey issues a new API key; the old one stays valid for graceSeconds (0 ends it now). */
export async function rotateKey(hg, tenant, webhookId, graceSeconds = 86400) {
  return hg.webhooks.rotateWebhookKey({ tenant, webhookId, gracePeriod: { seconds: BigInt(graceSeconds), nanos: 0 } });
}

/** deactivate stops the edge accepting calls for the webhook (410). */
export async function deactivate(hg, tenant, webhookId) {
  const { webhook } = await hg.webhooks.updateWebhook({
    webhook: { tenant, id: webhookId, active: false },
    updateMask: { paths: ["active"] },
  });
  return webhook;
}

/** listFailures returns a page of failed triggers, newest first. */
export async function listFailures(hg, tenant, webhookId, pageSize = 50) {
  const { failedTriggers } = await hg.webhooks.listFailedTriggers({ tenant, webhookId, pageSize });
  return failedTriggers;
}

/** sendMessage sends a message through the edge; eventId makes a repeat a no-op. */
export async function sendMessage(hg, { tenant, applicationId, eventType, payload, eventId = "" }) {
  if (!hg.producer) throw new Error("hookgate: sendMessage needs edgeUrl");
  const { message } = await hg.producer.sendMessage({
    message: { tenant, applicationId, eventType, eventId, payload: toValue(payload) },
  });
  return message;
}

/** listAttempts returns a page of delivery attempts of a message or an endpoint. */
export async function listAttempts(hg, { tenant, messageId = "", endpointId = "", pageSize = 50 }) {
  const { attempts } = await hg.attempts.listAttempts({ tenant, messageId, endpointId, pageSize });
  return attempts;
}

// toValue turns plain JSON into a google.protobuf.Value message init.
function toValue(v) {
  if (v === null) return { kind: { case: "nullValue", value: 0 } };
  if (Array.isArray(v)) return { kind: { case: "listValue", value: { values: v.map(toValue) } } };
  switch (typeof v) {
    case "number":
      return { kind: { case: "numberValue", value: v } };
    case "string":
      return { kind: { case: "stringValue", value: v } };
    case "boolean":
      return { kind: { case: "boolValue", value: v } };
    case "object": {
      const fields = {};
      for (const [k, x] of Object.entries(v)) fields[k] = toValue(x);
      return { kind: { case: "structValue", value: { fields } } };
    }
  }
  throw new Error(`hookgate: payload holds a ${typeof v}, not JSON`);
}
