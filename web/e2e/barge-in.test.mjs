// The learner talks over the tutor: playout stops at once, and the tutor's line
// is cut where the learner stopped hearing it (the server truncates there too).

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { launchBrowser, learnerWav, recordPageProblems, screenshot, startLectern } from "./harness.mjs";

const FULL_LINE =
  "Photosynthesis is how plants make their own food. They capture light with chlorophyll, take in water through their roots and carbon dioxide through their leaves, and turn them into sugar and oxygen.";

let lectern;
let browser;

before(async () => {
  lectern = await startLectern({ script: fileURLToPath(new URL("./scripts/barge-in.json", import.meta.url)) });
  browser = await launchBrowser({ wav: learnerWav() });
});

after(async () => {
  await browser?.close();
  await lectern?.stop();
});

test("barge-in cuts the tutor's line where playout stopped", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["microphone"] });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  const sent = [];
  page.on("websocket", (ws) => ws.on("framesent", (f) => typeof f.payload === "string" && sent.push(f.payload)));
  try {
    await page.goto(lectern.url);
    await page.locator(".subtopic-option").first().waitFor();
    await page.getByLabel("Your name").fill("Ada");
    await page.getByRole("button", { name: "Start the lesson" }).click();
    const refused = page.getByRole("alert");
    await page.getByTestId("agent-state").filter({ hasNotText: "Connecting" }).or(refused).first().waitFor({ timeout: 20_000 });
    if (await refused.isVisible()) throw new Error(`the lesson did not start: ${await refused.innerText()}`);
    const cut = page.locator("[data-testid=transcript] .turn.tutor .cut");
    await cut.waitFor({ timeout: 40_000 });
    const line = (await page.locator("[data-testid=transcript] .turn.tutor").first().innerText()).replace(/^Tutor\s*/i, "").replace(/\s*— interrupted$/, "");
    assert.ok(line.length > 0, "some of the line was heard");
    assert.ok(line.length < FULL_LINE.length, `the line was cut (${line.length} of ${FULL_LINE.length} chars)`);
    assert.ok(FULL_LINE.startsWith(line), `"${line}" is the start of the tutor's line`);
    // The client told the server how much it played, in whole milliseconds, after the clear.
    const reports = sent.map((s) => JSON.parse(s)).filter((e) => e.type === "playout.position");
    assert.ok(reports.length > 0, "playout.position was sent");
    assert.ok(reports.every((r) => Number.isInteger(r.played_ms) && r.played_ms >= 0));
    await screenshot(page, "learner-barge-in");
  } catch (e) {
    await screenshot(page, "barge-in-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(lectern.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
  }
});
