import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { Code, ConnectError } from "@connectrpc/connect";
import { apiError, createApi, type ApiError } from "./api";
import { SessionContext, type Session } from "./context";
import { href, navigate, useRoute } from "./router";
import { clearSession, loadTenant, loadToken, saveTenant, saveToken } from "./session";
import { ErrorBox } from "./components/ui";
import { routes, type Route } from "./routes";

type Who = { platform: boolean; tenants: string[] };

// whoIs tells what a token may see: ListTenants answers a tenant token with
// its own tenant only, and ListNodes is for platform tokens.
async function whoIs(token: string): Promise<Who> {
  const api = createApi(token, () => {});
  const { tenants } = await api.tenants.listTenants({ pageSize: 1000 });
  let platform = true;
  try {
    await api.nodes.listNodes({});
  } catch (e) {
    if (ConnectError.from(e).code !== Code.PermissionDenied) throw e;
    platform = false;
  }
  return { platform, tenants: tenants.map((t) => t.id) };
}

function SignIn({ onSignedIn }: { onSignedIn: (token: string, who: Who) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <form
        aria-labelledby="signin-title"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const t = token.trim();
            onSignedIn(t, await whoIs(t));
          } catch (err) {
            const ae = apiError(err);
            setError(ae.code === "Unauthenticated" ? { ...ae, message: "That token was not accepted." } : ae);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1 id="signin-title">Hookgate console</h1>
        <p>Sign in with an admin token (hga_…). It is kept in this tab only, until you close it or sign out.</p>
        <div className={error ? "field invalid" : "field"}>
          <label htmlFor="token">Admin token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            required
            value={token}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "token-err" : undefined}
            onChange={(e) => setToken(e.target.value)}
          />
          {error && (
            <p className="field-error" id="token-err" role="alert">
              {error.message}
            </p>
          )}
        </div>
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Nav({ platform, active }: { platform: boolean; active: string }) {
  const groups: { title: string; items: Route[] }[] = [];
  for (const r of routes) {
    if (!r.nav || (r.platform && !platform)) continue;
    let g = groups.find((x) => x.title === r.nav!.group);
    if (!g) groups.push((g = { title: r.nav.group, items: [] }));
    g.items.push(r);
  }
  return (
    <nav aria-label="Main">
      {groups.map((g) => (
        <div key={g.title} className="nav-group">
          <h2>{g.title}</h2>
          <ul>
            {g.items.map((r) => (
              <li key={r.path[0]}>
                <a href={href(r.path[0])} aria-current={active === r.path[0] ? "page" : undefined}>
                  {r.nav!.label}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </nav>
  );
}

// match finds the route for the path: literal segments must be equal,
// ":name" segments are parameters.
function match(path: string[]): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    if (route.path.length !== path.length) continue;
    const params: Record<string, string> = {};
    if (route.path.every((seg, i) => (seg.startsWith(":") ? ((params[seg.slice(1)] = path[i]), true) : seg === path[i]))) {
      return { route, params };
    }
  }
  return null;
}

export function App() {
  const [token, setToken] = useState(loadToken());
  const [who, setWho] = useState<Who | null>(null);
  const [whoError, setWhoError] = useState<ApiError | null>(null);
  const [tenant, setTenant] = useState(loadTenant());
  const [toast, setToast] = useState<{ message: string; kind: "ok" | "error" } | null>(null);
  const path = useRoute();

  const signOut = useCallback(() => {
    clearSession();
    setToken("");
    setWho(null);
    setTenant("");
  }, []);

  // A token from an earlier page load of this tab is checked again.
  useEffect(() => {
    if (!token || who) return;
    whoIs(token)
      .then(setWho)
      .catch((e) => {
        const ae = apiError(e);
        if (ae.code === "Unauthenticated") signOut();
        else setWhoError(ae);
      });
  }, [token, who, signOut]);

  const chosen = who && (who.tenants.includes(tenant) ? tenant : (who.tenants[0] ?? ""));
  const session = useMemo<Session | null>(() => {
    if (!token || !who) return null;
    return {
      api: createApi(token, signOut),
      tenant: chosen ?? "",
      platform: who.platform,
      notify: (message, kind = "ok") => setToast({ message, kind }),
      refreshTenants: async (select?: string) => {
        const w = await whoIs(token);
        if (select) {
          saveTenant(select);
          setTenant(select);
        }
        setWho(w);
      },
    };
  }, [token, who, chosen, signOut]);

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), 5000);
    return () => clearTimeout(t);
  }, [toast]);

  if (!token) {
    return (
      <SignIn
        onSignedIn={(t, w) => {
          saveToken(t);
          setToken(t);
          setWho(w);
          if (path.length === 0) navigate("/webhooks");
        }}
      />
    );
  }
  if (!session) {
    return <main className="loading">{whoError ? <ErrorBox error={whoError} /> : "Signing in…"}</main>;
  }

  const m = match(path.length ? path : ["webhooks"]);
  let body: ReactNode;
  if (!m || (m.route.platform && !session.platform)) {
    body = <p role="alert">No such page.</p>;
  } else if (m.route.tenant !== false && !session.tenant) {
    body = (
      <p className="empty">
        There is no tenant yet.{" "}
        {session.platform ? <a href={href("tenants")}>Create one</a> : "Ask a platform operator for one."}
      </p>
    );
  } else {
    const P = m.route.page;
    body = <P key={`${session.tenant}/${path.join("/")}`} params={m.params} />;
  }

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Hookgate</span>
        {who!.tenants.length > 0 && (
          <label className="tenant-picker">
            Tenant{" "}
            <select
              value={session.tenant}
              disabled={!session.platform && who!.tenants.length < 2}
              onChange={(e) => {
                saveTenant(e.target.value);
                setTenant(e.target.value);
              }}
            >
              {who!.tenants.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="who">{session.platform ? "platform token" : "tenant token"}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <div className="shell">
        <Nav platform={session.platform} active={path[0] ?? "webhooks"} />
        <main id="main" tabIndex={-1}>
          {body}
        </main>
      </div>
      <div className={`toast ${toast?.kind ?? ""}`} role="status" aria-live="polite">
        {toast?.message}
      </div>
    </SessionContext.Provider>
  );
}
