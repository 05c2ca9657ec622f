import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function WebhookDetail(_props: PageProps) {
  return <Page title="WebhookDetail">Not built yet.</Page>;
}
