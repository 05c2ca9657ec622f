// Routes are in the URL's fragment (#/webhooks/wh_1): the control plane
// serves one index.html, and a reload or a shared link opens the same page.
import { useEffect, useState } from "react";

export function currentPath(): string {
  const h = window.location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : "/";
}

export function navigate(path: string): void {
  window.location.hash = path;
}

// useRoute returns the current path, split into segments, and re-renders on
// navigation.
export function useRoute(): string[] {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const on = () => setPath(currentPath());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return path.split("/").filter(Boolean).map(decodeURIComponent);
}

export function href(...segments: string[]): string {
  return "#/" + segments.map(encodeURIComponent).join("/");
}
