// Builds the dashboard into the server's static folder (server/http/static), which is
// committed: `make check-dashboard` rebuilds it and fails when the output differs, so
// the build must be deterministic (hashed names, no timestamps, no source maps).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const outDir = process.env.DWE_DASHBOARD_OUT
  ?? fileURLToPath(new URL("../server/http/static", import.meta.url));

export default defineConfig({
  // Absolute, since the server serves the SPA at "/" and deep links such as
  // /workflows/<id> must still find /assets/.
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      onwarn(warning, warn) {
        // Mantine marks its modules "use client" for React Server Components,
        // which mean nothing in a client-only bundle.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
  server: {
    // `npm run dev` against a local server: DWE_HTTP=http://127.0.0.1:8080 npm run dev
    proxy: { "/api": process.env.DWE_HTTP ?? "http://127.0.0.1:8080" },
  },
});
