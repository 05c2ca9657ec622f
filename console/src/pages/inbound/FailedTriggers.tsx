import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function FailedTriggers(_props: PageProps) {
  return <Page title="FailedTriggers">Not built yet.</Page>;
}
