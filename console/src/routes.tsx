// Every page of the console. A page receives the route's parameters; the
// session (clients, tenant) comes from useSession().
import type { ComponentType } from "react";
import { Webhooks } from "./pages/inbound/Webhooks";
import { WebhookDetail } from "./pages/inbound/WebhookDetail";
import { FailedTriggers } from "./pages/inbound/FailedTriggers";
import { Tail } from "./pages/inbound/Tail";
import { Apps } from "./pages/outbound/Apps";
import { AppDetail } from "./pages/outbound/AppDetail";
import { EventTypes } from "./pages/outbound/EventTypes";
import { EndpointDetail } from "./pages/outbound/EndpointDetail";
import { MessageDetail } from "./pages/outbound/MessageDetail";
import { Fleet } from "./pages/fleet/Fleet";
import { Tenants } from "./pages/fleet/Tenants";

export type PageProps = { params: Record<string, string> };

export type Route = {
  // path segments; ":name" is a parameter.
  path: string[];
  page: ComponentType<PageProps>;
  nav?: { group: string; label: string };
  // platform pages are for platform tokens only.
  platform?: boolean;
  // tenant: false for pages that work without a tenant chosen.
  tenant?: boolean;
};

export const routes: Route[] = [
  { path: ["webhooks"], page: Webhooks, nav: { group: "Inbound", label: "Webhooks" } },
  { path: ["webhooks", ":id"], page: WebhookDetail },
  { path: ["failed"], page: FailedTriggers, nav: { group: "Inbound", label: "Failed triggers" } },
  { path: ["tail"], page: Tail, nav: { group: "Inbound", label: "Live tail" } },
  { path: ["apps"], page: Apps, nav: { group: "Outbound", label: "Applications" } },
  { path: ["apps", ":app"], page: AppDetail },
  { path: ["apps", ":app", "endpoints", ":id"], page: EndpointDetail },
  { path: ["apps", ":app", "messages", ":id"], page: MessageDetail },
  { path: ["event-types"], page: EventTypes, nav: { group: "Outbound", label: "Event types" } },
  { path: ["fleet"], page: Fleet, nav: { group: "Platform", label: "Fleet" }, platform: true, tenant: false },
  { path: ["tenants"], page: Tenants, nav: { group: "Platform", label: "Tenants" }, platform: true, tenant: false },
];
