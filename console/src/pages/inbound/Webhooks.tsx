import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function Webhooks(_props: PageProps) {
  return <Page title="Webhooks">Not built yet.</Page>;
}
