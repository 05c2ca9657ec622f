import type { PageProps } from "../../routes";
import { Page } from "../../components/ui";

export function Tenants(_props: PageProps) {
  return <Page title="Tenants">Not built yet.</Page>;
}
