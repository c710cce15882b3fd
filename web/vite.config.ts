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
    // Hashed file names let the server cache assets for a year.
    rollupOptions: {},
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
