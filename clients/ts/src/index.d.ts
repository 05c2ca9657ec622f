import type { Client } from "@connectrpc/connect";
import type { JsonValue } from "@bufbuild/protobuf";
import type { ApplicationService } from "../gen/hookgate/v1/application_pb.js";
import type { Attempt, AttemptService } from "../gen/hookgate/v1/attempt_pb.js";
import type { ConfigParamService } from "../gen/hookgate/v1/config_param_pb.js";
import type { EdgeService } from "../gen/hookgate/v1/edge_pb.js";
import type { EndpointService } from "../gen/hookgate/v1/endpoint_pb.js";
import type { EventTypeService } from "../gen/hookgate/v1/event_type_pb.js";
import type {
  CreateWebhookResponse,
  FailedTrigger,
  InboundWebhookService,
  RotateWebhookKeyResponse,
  Webhook,
} from "../gen/hookgate/v1/inbound_pb.js";
import { Provider, Trigger } from "../gen/hookgate/v1/inbound_pb.js";
import type { Message, MessageService } from "../gen/hookgate/v1/message_pb.js";
import type { TenantService } from "../gen/hookgate/v1/tenant_pb.js";

export { Provider, Trigger };

export interface HookgateOptions {
  /** The admin port, e.g. http://127.0.0.1:8070. */
  adminUrl: string;
  /** The edge port, e.g. http://127.0.0.1:8080; needed by sendMessage. */
  edgeUrl?: string;
  /** An admin token (hga_…); at the edge also a producer token (hgp_…). */
  token: string;
}

export interface Hookgate {
  tenants: Client<typeof TenantService>;
  webhooks: Client<typeof InboundWebhookService>;
  params: Client<typeof ConfigParamService>;
  apps: Client<typeof ApplicationService>;
  eventTypes: Client<typeof EventTypeService>;
  endpoints: Client<typeof EndpointService>;
  messages: Client<typeof MessageService>;
  attempts: Client<typeof AttemptService>;
  nodes: Client<typeof EdgeService>;
  /** SendMessage on the edge port; undefined without edgeUrl. */
  producer?: Client<typeof MessageService>;
}

export declare function createHookgate(opts: HookgateOptions): Hookgate;

export declare function createWebhook(
  hg: Hookgate,
  tenant: string,
  opts: { name: string; processId: string; provider?: Provider; providerSecrets?: Record<string, string> },
): Promise<CreateWebhookResponse>;

export declare function rotateKey(hg: Hookgate, tenant: string, webhookId: string, graceSeconds?: number): Promise<RotateWebhookKeyResponse>;

export declare function deactivate(hg: Hookgate, tenant: string, webhookId: string): Promise<Webhook | undefined>;

export declare function listFailures(hg: Hookgate, tenant: string, webhookId: string, pageSize?: number): Promise<FailedTrigger[]>;

export declare function sendMessage(
  hg: Hookgate,
  msg: { tenant: string; applicationId: string; eventType: string; payload: JsonValue; eventId?: string },
): Promise<Message | undefined>;

export declare function listAttempts(
  hg: Hookgate,
  q: { tenant: string; messageId?: string; endpointId?: string; pageSize?: number },
): Promise<Attempt[]>;
