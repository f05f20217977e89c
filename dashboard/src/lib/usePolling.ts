import { useEffect, useRef, useState } from "react";

export interface Polled<T> {
  data?: T;
  error: string;
}

/** Calls `load` now and every `ms` after the previous answer (never two at once). */
export function usePolling<T>(load: () => Promise<T>, ms: number): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ error: "" });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer = 0;
    const tick = () => {
      loadRef.current().then(
        (data) => live && setState({ data, error: "" }),
        (e: Error) => live && setState((s) => ({ data: s.data, error: e.message })),
      ).finally(() => {
        if (live) timer = window.setTimeout(tick, ms);
      });
    };
    tick();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [ms]);
  return state;
}
