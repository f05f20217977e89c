// GET /api/v1/info, asked again whenever the token changes: it says who the token is
// and which namespaces it grants (the namespace filter offers only those).
import { useEffect, useState } from "react";
import { getInfo } from "../api/client";
import { onAuthChange, token } from "../api/auth";
import type { ServerInfo } from "../api/types";

export function useServerInfo(): ServerInfo | undefined {
  const [info, setInfo] = useState<ServerInfo>();
  const [bearer, setBearer] = useState(token);
  useEffect(() => onAuthChange(() => setBearer(token())), []);
  useEffect(() => {
    let live = true;
    getInfo().then(
      (answer) => live && setInfo(answer),
      () => live && setInfo(undefined),
    );
    return () => {
      live = false;
    };
  }, [bearer]);
  return info;
}
