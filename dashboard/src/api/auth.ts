// The bearer token lives in sessionStorage: it survives reloads of this tab but not the
// browser session, and is never written anywhere else.

const KEY = "dwe.token";

type Listener = () => void;
const listeners = new Set<Listener>();
let needed = false;

export function token(): string {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setToken(value: string): void {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
  needed = false;
  emit();
}

/** True after a call answered 401: the shell then shows the token prompt. */
export function tokenNeeded(): boolean {
  return needed;
}

export function requireToken(): void {
  if (needed) return;
  needed = true;
  emit();
}

/** Subscribes to changes of the token or of the prompt; returns the unsubscribe. */
export function onAuthChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(): void {
  for (const listener of listeners) listener();
}
