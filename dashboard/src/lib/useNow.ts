import { useEffect, useState } from "react";

/** The current time, renewed every `ms` while anything needs it (running durations). */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms, active]);
  return now;
}
