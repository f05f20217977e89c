// A few routes do not need a router library: the path lives in history.pushState, and
// the server answers every non-/api path with index.html, so deep links work.
import { useSyncExternalStore, type MouseEvent } from "react";

export type Route =
  | { page: "workflows" }
  | { page: "workflow"; id: string }
  | { page: "agents" }
  | { page: "metrics" };

export function parse(path: string): Route {
  const match = /^\/workflows\/([^/]+)\/?$/.exec(path);
  if (match) return { page: "workflow", id: decodeURIComponent(match[1]) };
  if (path.startsWith("/agents")) return { page: "agents" };
  if (path.startsWith("/metrics")) return { page: "metrics" };
  return { page: "workflows" };
}

export function href(route: Route): string {
  return route.page === "workflow" ? `/workflows/${encodeURIComponent(route.id)}` : `/${route.page}`;
}

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** A click handler for links: plain clicks navigate in place, modified ones open tabs. */
export function follow(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute("href") ?? "/");
}

function subscribe(callback: () => void): () => void {
  addEventListener("popstate", callback);
  return () => removeEventListener("popstate", callback);
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}
