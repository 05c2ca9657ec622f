import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function Fleet(_props: PageProps) {
  return <Page title="Fleet">Not built yet.</Page>;
}
