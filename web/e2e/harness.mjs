// Shared set-up for the browser tests: build and start the fake Realtime server
// and a real `lectern serve` wired to it, launch Debian's Chromium with a fake
// microphone, and save screenshots under test-output/e2e/.

import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startRealtimeRecorder } from "./realtime-recorder.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OUTPUT = join(ROOT, "test-output", "e2e");
export const DOC_SCREENSHOTS = join(ROOT, "docs", "screenshots");
export const ADMIN_TOKEN = "e2e-admin-token-0123456789";
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** How long the server may take to come up (first start migrates and loads plugins). */
const SERVER_START_TIMEOUT_MS = 90_000;

mkdirSync(OUTPUT, { recursive: true });

let built = false;
/** The two binaries, built once per test process (a no-op when up to date). */
export function buildBinaries() {
  if (built || process.env.LECTERN_E2E_SKIP_CARGO === "1") return;
  execFileSync("cargo", ["build", "-p", "lectern-api", "-p", "lectern-fake-realtime", "--bins"], { cwd: ROOT, stdio: "inherit" });
  built = true;
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function waitForLine(child, pattern, timeoutMs, what) {
  return new Promise((res, rej) => {
    let seen = "";
    const timer = setTimeout(() => rej(new Error(`${what} did not start within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c) => (seen += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited with ${code} before it was ready:\n${seen}`));
    });
  });
}

async function waitForHealth(url, child, logs) {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`lectern serve exited with ${child.exitCode}:\n${logs.join("")}`);
    try {
      const res = await fetch(`${url}/api/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`lectern serve was not ready within ${SERVER_START_TIMEOUT_MS} ms:\n${logs.join("")}`);
}

/**
 * Start the fake Realtime server (a built-in script name or a script file) and
 * `lectern serve` pointed at it, on free ports with a fresh data directory.
 * With `record`, Lectern talks to the fake through a relay that keeps every
 * client event (`realtime.events()`, `realtime.waitFor(…)`).
 */
export async function startLectern({ script = "lesson", record = false } = {}) {
  buildBinaries();
  const fakePort = await freePort();
  const fake = spawn(join(TARGET, "debug", "fake-realtime"), ["--port", String(fakePort), "--script", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [, fakeUrl] = await waitForLine(fake, /listening on (\S+)/, 20_000, "fake-realtime");
  const realtime = record ? await startRealtimeRecorder(fakeUrl) : null;

  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "lectern-e2e-"));
  const logs = [];
  const server = spawn(join(TARGET, "debug", "lectern"), ["serve"], {
    cwd: ROOT,
    env: {
      ...process.env,
      LECTERN_BIND: `127.0.0.1:${port}`,
      LECTERN_DATA_DIR: dataDir,
      LECTERN_ADMIN_TOKEN: ADMIN_TOKEN,
      LECTERN_RATE_LIMIT_PER_MIN: "10000",
      OPENAI_API_KEY: "e2e-key",
      OPENAI_REALTIME_URL: realtime?.url ?? fakeUrl,
      RUST_LOG: process.env.RUST_LOG ?? "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.on("data", (c) => logs.push(c.toString()));
  server.stderr.on("data", (c) => logs.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, server, logs);
  } catch (e) {
    server.kill("SIGKILL");
    fake.kill("SIGKILL");
    await realtime?.stop();
    throw e;
  }
  return {
    url,
    logs,
    realtime,
    async stop() {
      server.kill("SIGTERM");
      fake.kill("SIGTERM");
      await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
      await realtime?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The fixture teaching tool (e2e/fixtures/versioned-tool) built as `version`:
 * two builds are two versions of one plugin, for upload and rollback.
 */
export function buildVersionedTool(version) {
  const crate = join(ROOT, "web", "e2e", "fixtures", "versioned-tool");
  const target = join(TARGET, "e2e-plugin");
  execFileSync("cargo", ["build", "--release", "--target", "wasm32-wasip2"], {
    cwd: crate,
    env: { ...process.env, CARGO_TARGET_DIR: target, LECTERN_E2E_PLUGIN_VERSION: version },
    stdio: "inherit",
  });
  const out = join(OUTPUT, "plugins");
  mkdirSync(out, { recursive: true });
  const path = join(out, `e2e-versioned-tool-${version}.wasm`);
  copyFileSync(join(target, "wasm32-wasip2", "release", "e2e_versioned_tool.wasm"), path);
  return path;
}

/** A WAV of a learner speaking, then silence so voice activity detection sees the end. */
export function learnerWav(text = "Hello! Can you check if I understood photosynthesis?") {
  const path = join(OUTPUT, "learner-speech.wav");
  if (existsSync(path)) return path;
  const raw = join(OUTPUT, "learner-speech.raw.wav");
  execFileSync("espeak-ng", ["-v", "en-us", "-s", "150", "-w", raw, text]);
  // 48 kHz mono 16-bit, as Chrome's fake capture device expects; 3 s of silence after.
  execFileSync("sox", [raw, "-r", "48000", "-c", "1", "-b", "16", path, "pad", "0.3", "3"]);
  rmSync(raw, { force: true });
  return path;
}

/** Headless Chromium; with `wav`, its microphone plays that file in a loop. */
export async function launchBrowser({ wav } = {}) {
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
  ];
  if (wav) args.push(`--use-file-for-fake-audio-capture=${wav}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Save a screenshot under test-output/e2e/ (and docs/screenshots/ when asked to refresh them). */
export async function screenshot(page, name, { doc = null, fullPage = true } = {}) {
  const path = join(OUTPUT, `${name}.png`);
  // From the top, nothing focused: a sticky header otherwise lands mid-page in full-page shots.
  await page.evaluate(() => {
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path, fullPage });
  if (doc && process.env.LECTERN_DOC_SCREENSHOTS === "1") {
    mkdirSync(DOC_SCREENSHOTS, { recursive: true });
    copyFileSync(path, join(DOC_SCREENSHOTS, `${doc}.png`));
  }
  return path;
}

/** Enter the admin token on a gated page. */
export async function signIn(page) {
  const field = page.getByLabel("Token");
  if (await field.isVisible().catch(() => false)) {
    await field.fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Continue" }).click();
  }
}

/** Console errors and failed requests, to print when a test fails. */
export function recordPageProblems(page) {
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  return problems;
}

const AXE_SOURCE = await import("node:fs").then((fs) => fs.readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8"));

/**
 * Accessibility check of the page as it is now (axe-core, WCAG 2 A/AA rules).
 * Returns the serious and critical violations, one line each.
 */
export async function accessibilityProblems(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
  return result;
}
