// An operator signs in, uploads a new plugin version by drag and drop, sees it
// active with its digest, rolls it back, and finds both in the audit log.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { accessibilityProblems, ADMIN_TOKEN, launchBrowser, recordPageProblems, ROOT, screenshot, signIn, startLectern } from "./harness.mjs";

let lectern;
let browser;

before(async () => {
  lectern = await startLectern();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lectern?.stop();
});

function* wasmFiles(dir, depth = 0) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (name === "deps" || name === "build" || name === "incremental" || name === "node_modules") continue;
    const st = statSync(path);
    if (st.isDirectory() && depth < 6) yield* wasmFiles(path, depth + 1);
    else if (name.endsWith(".wasm")) yield path;
  }
}

async function api(path) {
  const res = await fetch(`${lectern.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.ok(res.ok, `${path}: ${res.status}`);
  return res.json();
}

/**
 * A component that is a different build of a plugin the server already runs:
 * uploading it makes a new version of that plugin. LECTERN_E2E_PLUGIN_WASM
 * names one explicitly.
 */
async function newVersionCandidate() {
  const body = await api("/api/plugins");
  const plugins = Array.isArray(body) ? body : (body.plugins ?? body.items ?? []);
  const digests = new Set(JSON.stringify(plugins).match(/[0-9a-f]{64}/g) ?? []);
  const names = plugins.map((p) => p.name);
  const candidates = process.env.LECTERN_E2E_PLUGIN_WASM
    ? [process.env.LECTERN_E2E_PLUGIN_WASM]
    : [...wasmFiles(join(ROOT, "target")), ...wasmFiles(join(ROOT, "plugins"))];
  for (const path of candidates) {
    const bytes = readFileSync(path);
    const digest = createHash("sha256").update(bytes).digest("hex");
    const stem = path.split("/").pop().replace(/\.wasm$/, "").replace(/_/g, "-");
    if (!digests.has(digest) && names.some((n) => stem.includes(n))) return { path, bytes, plugin: names.find((n) => stem.includes(n)) };
  }
  return null;
}

test("operator uploads a plugin version by drag and drop and rolls it back", async (t) => {
  const candidate = await newVersionCandidate();
  if (!candidate) {
    t.skip("no .wasm that is a new build of a loaded plugin was found (set LECTERN_E2E_PLUGIN_WASM)");
    return;
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    await page.goto(`${lectern.url}/console`);
    await signIn(page);
    const row = page.locator(`[data-plugin="${candidate.plugin}"]`);
    await row.waitFor();
    const before = await row.getByTestId("plugin-status").innerText();

    // Drop the file on the drop zone, as a person dragging it from their desktop would.
    await page.evaluate(
      ({ b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: "application/wasm" }));
        document.querySelector(".dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { b64: candidate.bytes.toString("base64"), name: candidate.path.split("/").pop() },
    );
    await page.getByRole("status").filter({ hasText: "Uploaded" }).waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      ({ plugin, before }) => document.querySelector(`[data-plugin="${plugin}"] [data-testid=plugin-status]`)?.textContent !== before,
      { plugin: candidate.plugin, before },
      { timeout: 15_000 },
    );
    const afterUpload = await row.getByTestId("plugin-status").innerText();
    await row.getByRole("button", { name: "Versions" }).click();
    await row.locator("table tbody tr").nth(1).waitFor();
    await screenshot(page, "console-uploaded", { doc: "console" });
    assert.deepEqual(await accessibilityProblems(page), []);

    await row.getByRole("button", { name: "Roll back" }).click();
    await page.getByRole("status").filter({ hasText: "rolled back" }).waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      ({ plugin, afterUpload }) => document.querySelector(`[data-plugin="${plugin}"] [data-testid=plugin-status]`)?.textContent !== afterUpload,
      { plugin: candidate.plugin, afterUpload },
      { timeout: 15_000 },
    );
    assert.equal(await row.getByTestId("plugin-status").innerText(), before);

    // Both changes are in the audit log.
    await page.getByRole("button", { name: "Refresh" }).click();
    const audit = page.getByTestId("audit");
    await audit.getByText(/upload/i).first().waitFor({ timeout: 10_000 });
    await audit.getByText(/rollback|rolled back/i).first().waitFor({ timeout: 10_000 });
    await screenshot(page, "console-rolled-back");
  } catch (e) {
    await screenshot(page, "console-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(lectern.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
  }
});

test("a wrong admin token is refused with a message and asked again", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(`${lectern.url}/console`);
    await page.getByLabel("Token").fill("not-the-token");
    await page.getByRole("button", { name: "Continue" }).click();
    // The console tries, the server refuses, the token is forgotten and asked for again.
    await page.getByLabel("Token").waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem("lectern.adminToken")), null);
  } finally {
    await context.close();
  }
});
