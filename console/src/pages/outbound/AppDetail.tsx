import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function AppDetail(_props: PageProps) {
  return <Page title="AppDetail">Not built yet.</Page>;
}
