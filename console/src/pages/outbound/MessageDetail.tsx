import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function MessageDetail(_props: PageProps) {
  return <Page title="MessageDetail">Not built yet.</Page>;
}
