// One Connect client per admin service, all on the origin that served the
// console (the control plane's admin port), each call carrying the admin
// token as a bearer token.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ApplicationService } from "../../clients/ts/gen/hookgate/v1/application_pb.js";
import { AttemptService } from "../../clients/ts/gen/hookgate/v1/attempt_pb.js";
import { ConfigParamService } from "../../clients/ts/gen/hookgate/v1/config_param_pb.js";
import { EdgeService } from "../../clients/ts/gen/hookgate/v1/edge_pb.js";
import { EndpointService } from "../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import { EventTypeService } from "../../clients/ts/gen/hookgate/v1/event_type_pb.js";
import { InboundWebhookService } from "../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import { MessageService } from "../../clients/ts/gen/hookgate/v1/message_pb.js";
import { TenantService } from "../../clients/ts/gen/hookgate/v1/tenant_pb.js";

export type Api = {
  tenants: Client<typeof TenantService>;
  webhooks: Client<typeof InboundWebhookService>;
  params: Client<typeof ConfigParamService>;
  apps: Client<typeof ApplicationService>;
  eventTypes: Client<typeof EventTypeService>;
  endpoints: Client<typeof EndpointService>;
  messages: Client<typeof MessageService>;
  attempts: Client<typeof AttemptService>;
  nodes: Client<typeof EdgeService>;
};

// createApi returns the clients. onUnauthenticated runs when the server
// refuses the token (revoked, expired, mistyped), so the app can sign out.
export function createApi(token: string, onUnauthenticated: () => void): Api {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (e) {
      if (ConnectError.from(e).code === Code.Unauthenticated) onUnauthenticated();
      throw e;
    }
  };
  const transport = createConnectTransport({ baseUrl: window.location.origin, interceptors: [bearer] });
  return {
    tenants: createClient(TenantService, transport),
    webhooks: createClient(InboundWebhookService, transport),
    params: createClient(ConfigParamService, transport),
    apps: createClient(ApplicationService, transport),
    eventTypes: createClient(EventTypeService, transport),
    endpoints: createClient(EndpointService, transport),
    messages: createClient(MessageService, transport),
    attempts: createClient(AttemptService, transport),
    nodes: createClient(EdgeService, transport),
  };
}

// ApiError is an API failure as the console shows it. The admin API names
// the field at fault at the start of its message ("endpoint.url: must be
// https"), so a form can put the message next to that field.
export type ApiError = { code: string; message: string; field?: string; retryable: boolean };

const fieldPrefix = /^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*|\[\d+\])*): (.+)$/s;

export function apiError(e: unknown): ApiError {
  const ce = ConnectError.from(e);
  const code = Code[ce.code] ?? "Unknown";
  const retryable = ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded || ce.code === Code.Aborted;
  const m = ce.code === Code.InvalidArgument ? fieldPrefix.exec(ce.rawMessage) : null;
  if (m) return { code, field: m[1], message: m[2], retryable };
  if (ce.code === Code.Unknown && ce.rawMessage.startsWith("Failed to fetch")) {
    return { code: "Unavailable", message: "the control plane did not answer; retry", retryable: true };
  }
  return { code, message: ce.rawMessage || code, retryable };
}

// fieldMatches reports whether an error's field path belongs to a form
// field: "endpoint.headers[2]" belongs to "endpoint.headers".
export function fieldMatches(errField: string | undefined, field: string): boolean {
  if (!errField) return false;
  return errField === field || errField.startsWith(field + ".") || errField.startsWith(field + "[");
}
