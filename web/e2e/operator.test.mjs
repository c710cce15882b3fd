// An operator signs in, uploads two versions of a plugin by drag and drop, sees
// the new one active with its digest, rolls back to the first, and finds the
// changes in the audit log.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { after, before, test } from "node:test";
import { accessibilityProblems, buildVersionedTool, launchBrowser, recordPageProblems, screenshot, signIn, startLectern } from "./harness.mjs";

const PLUGIN = "e2e-versioned-tool";
let lectern;
let browser;
let v1;
let v2;

before(async () => {
  v1 = buildVersionedTool("1.0.0");
  v2 = buildVersionedTool("1.1.0");
  lectern = await startLectern();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lectern?.stop();
});

/** Drop a file on the console's drop zone, as a person dragging it from their desktop would. */
async function dropFile(page, path) {
  await page.evaluate(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: "application/wasm" }));
      document.querySelector(".dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { b64: readFileSync(path).toString("base64"), name: basename(path) },
  );
}

test("operator uploads a plugin version by drag and drop and rolls it back", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    await page.goto(`${lectern.url}/console`);
    await signIn(page);
    await page.getByTestId("plugins").locator("[data-plugin]").first().waitFor();

    const row = page.locator(`[data-plugin="${PLUGIN}"]`);
    const status = row.getByTestId("plugin-status");
    await dropFile(page, v1);
    await page.getByRole("status").filter({ hasText: `${PLUGIN} 1.0.0` }).waitFor({ timeout: 30_000 });
    await status.filter({ hasText: "active 1.0.0" }).waitFor({ timeout: 15_000 });

    await dropFile(page, v2);
    await page.getByRole("status").filter({ hasText: `${PLUGIN} 1.1.0` }).waitFor({ timeout: 30_000 });
    await status.filter({ hasText: "active 1.1.0" }).waitFor({ timeout: 15_000 });
    await row.getByRole("button", { name: "Versions" }).click();
    const versions = row.locator("table tbody tr");
    await versions.nth(1).waitFor();
    assert.equal(await versions.count(), 2);
    assert.match(await row.innerText(), /[0-9a-f]{12}/, "digests are shown");
    await screenshot(page, "console-uploaded", { doc: "console" });
    assert.deepEqual(await accessibilityProblems(page), []);

    await row.getByRole("button", { name: "Roll back" }).click();
    await page.getByRole("status").filter({ hasText: "rolled back" }).waitFor({ timeout: 15_000 });
    await status.filter({ hasText: "active 1.0.0" }).waitFor({ timeout: 15_000 });

    // The uploads and the rollback are in the audit log.
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

test("a wrong admin token is refused and asked for again", async () => {
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
