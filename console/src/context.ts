import { createContext, useContext } from "react";
import type { Api } from "./api";

// Session is what every page needs: the clients, the tenant being looked
// at, and whether the token is a platform token (which sees the fleet and
// every tenant).
export type Session = {
  api: Api;
  tenant: string;
  platform: boolean;
  // notify shows a short message in the page's live region.
  notify: (message: string, kind?: "ok" | "error") => void;
  // refreshTenants reloads the tenant picker (after a tenant was created
  // or deleted), optionally switching to select.
  refreshTenants: (select?: string) => Promise<void>;
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in session");
  return s;
}
