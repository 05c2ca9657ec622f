import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function Tail(_props: PageProps) {
  return <Page title="Tail">Not built yet.</Page>;
}
