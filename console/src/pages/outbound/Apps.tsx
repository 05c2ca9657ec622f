import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function Apps(_props: PageProps) {
  return <Page title="Apps">Not built yet.</Page>;
}
