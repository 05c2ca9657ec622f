// What the console knows about each provider: its label, the name the CLI
// takes, and the provider secrets registration requires and accepts. The
// control plane's table (controlplane/admin/providers.go) is the authority;
// a secret missing here is refused there with an error on
// webhook.provider_secrets, shown next to the secrets.
import { Provider } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";

export type ProviderInfo = {
  value: Provider;
  label: string;
  cli: string;
  required: string[];
  optional: string[];
};

const p = (value: Provider, label: string, cli: string, required: string[] = [], optional: string[] = []): ProviderInfo => ({
  value,
  label,
  cli,
  required,
  optional,
});

export const providers: ProviderInfo[] = [
  p(Provider.GENERIC, "Generic (API key only)", "generic"),
  p(Provider.STRIPE, "Stripe", "stripe", ["signing_secret"]),
  p(Provider.GITHUB, "GitHub", "github", ["secret"]),
  p(Provider.SLACK, "Slack", "slack", ["signing_secret"]),
  p(Provider.META, "Meta (WhatsApp, Messenger, Instagram)", "meta", ["app_secret", "verify_token"]),
  p(Provider.STANDARD_WEBHOOKS, "Standard Webhooks (Svix)", "standard-webhooks", ["signing_secret"], ["public_key"]),
  p(Provider.SHOPIFY, "Shopify", "shopify", ["secret"]),
  p(Provider.TWILIO, "Twilio", "twilio", ["auth_token"]),
  p(Provider.ZOOM, "Zoom", "zoom", ["secret_token"]),
  p(Provider.DISCORD, "Discord", "discord", ["public_key"]),
  p(Provider.SQUARE, "Square", "square", ["signature_key"]),
  p(Provider.PADDLE, "Paddle", "paddle", ["secret"]),
  p(Provider.LINEAR, "Linear", "linear", ["secret"]),
  p(Provider.HUBSPOT, "HubSpot", "hubspot", ["client_secret"]),
  p(Provider.INTERCOM, "Intercom", "intercom", ["client_secret"]),
  p(Provider.PAGERDUTY, "PagerDuty", "pagerduty", ["secret"]),
  p(Provider.MAILGUN, "Mailgun", "mailgun", ["signing_key"]),
  p(Provider.SENDGRID, "SendGrid", "sendgrid", ["public_key"]),
  p(Provider.TWITCH, "Twitch", "twitch", ["secret"]),
  p(Provider.GITLAB, "GitLab", "gitlab", ["token"], ["signing_token"]),
  p(Provider.BITBUCKET, "Bitbucket", "bitbucket", ["secret"]),
  p(Provider.TYPEFORM, "Typeform", "typeform", ["secret"]),
  p(Provider.CALENDLY, "Calendly", "calendly", ["signing_key"]),
  p(Provider.CUSTOM_HMAC, "Custom HMAC", "custom-hmac", ["secret"]),
];

export function providerInfo(v: Provider): ProviderInfo {
  return providers.find((x) => x.value === v) ?? p(v, Provider[v] ?? `provider ${v}`, String(v));
}

// secretNames lists every secret a provider takes, required first.
export function secretNames(v: Provider): string[] {
  const i = providerInfo(v);
  return [...i.required, ...i.optional];
}
