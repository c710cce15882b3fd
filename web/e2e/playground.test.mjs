// An author picks a plugin and tool, fills the form generated from its JSON
// Schema, invokes it against a subtopic and sees the outcome, time, fuel and card.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { accessibilityProblems, launchBrowser, recordPageProblems, screenshot, signIn, startLectern } from "./harness.mjs";

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

test("author invokes a tool in the playground", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    await page.goto(`${lectern.url}/playground`);
    await signIn(page);
    const form = page.getByRole("form", { name: "Invoke a tool" });
    const plugin = form.getByLabel("Plugin", { exact: true });
    await page.waitForFunction(() => document.querySelectorAll("select option").length > 2);
    // Prefer check_understanding (bundled), else the first tool offered.
    const options = await plugin.locator("option").allInnerTexts();
    const preferred = options.findIndex((o) => /understand/i.test(o));
    if (preferred >= 0) await plugin.selectOption({ index: preferred });

    // An empty required field is refused before anything is sent.
    const invoke = form.getByRole("button", { name: "Invoke" });
    const required = form.locator("[aria-required=true]");
    if (await required.count()) {
      await invoke.click();
      await form.locator(".field .error").first().waitFor();
    }
    // Fill every required field with a sensible value for its kind.
    for (const field of await required.all()) {
      const tag = await field.evaluate((el) => el.tagName);
      const mode = await field.getAttribute("inputmode");
      if (tag === "SELECT") await field.selectOption({ index: 1 });
      else if (mode === "numeric" || mode === "decimal") await field.fill("1");
      else await field.fill("photosynthesis");
    }
    await invoke.click();
    const result = page.getByTestId("invoke-result");
    await result.getByTestId("outcome").waitFor({ timeout: 20_000 });
    const outcome = await result.getByTestId("outcome").innerText();
    assert.equal(outcome, "ok", `outcome was ${outcome}: ${await result.innerText()}`);
    assert.match(await result.innerText(), /\d+(\.\d+)? ms/);
    await screenshot(page, "playground", { doc: "playground" });
    assert.deepEqual(await accessibilityProblems(page), []);
  } catch (e) {
    await screenshot(page, "playground-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(lectern.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
  }
});
