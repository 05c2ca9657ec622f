import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function EventTypes(_props: PageProps) {
  return <Page title="EventTypes">Not built yet.</Page>;
}
