// The admin token lives in sessionStorage only: it ends with the tab, is
// never put in a URL (so no history entry, referrer or server log has it)
// and is never logged.
const tokenKey = "hookgate.token";
const tenantKey = "hookgate.tenant";

export function loadToken(): string {
  return sessionStorage.getItem(tokenKey) ?? "";
}

export function saveToken(token: string): void {
  sessionStorage.setItem(tokenKey, token);
}

export function loadTenant(): string {
  return sessionStorage.getItem(tenantKey) ?? "";
}

export function saveTenant(tenant: string): void {
  sessionStorage.setItem(tenantKey, tenant);
}

export function clearSession(): void {
  sessionStorage.removeItem(tokenKey);
  sessionStorage.removeItem(tenantKey);
}
