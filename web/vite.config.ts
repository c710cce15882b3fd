import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The API server during `npm run dev` (override with LECTERN_URL).
const apiTarget = process.env.LECTERN_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // livekit-client is one lazily loaded chunk of ~530 kB, loaded only for LiveKit lessons.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/api": { target: apiTarget, ws: true },
      "/metrics": apiTarget,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
