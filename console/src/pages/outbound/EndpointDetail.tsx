import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function EndpointDetail(_props: PageProps) {
  return <Page title="EndpointDetail">Not built yet.</Page>;
}
