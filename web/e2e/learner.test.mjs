// A learner starts a lesson, speaks (fake microphone), sees both sides of the
// transcript and a tool card, answers by clicking, and ends the lesson.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { accessibilityProblems, launchBrowser, learnerWav, recordPageProblems, screenshot, startLectern } from "./harness.mjs";

let lectern;
let browser;

before(async () => {
  // The built-in `lesson` script, with arguments every bundled check_understanding accepts.
  lectern = await startLectern({ script: fileURLToPath(new URL("./scripts/lesson.json", import.meta.url)) });
  browser = await launchBrowser({ wav: learnerWav() });
});

after(async () => {
  await browser?.close();
  await lectern?.stop();
});

/** Click start; fail at once with the page's message if the lesson cannot start. */
async function startLesson(page) {
  await page.getByRole("button", { name: "Start the lesson" }).click();
  // The lesson view shows "Connecting…" at once; started means past that.
  const started = page.getByTestId("agent-state").filter({ hasNotText: "Connecting" });
  const refused = page.getByRole("alert");
  await started.or(refused).first().waitFor({ timeout: 20_000 });
  if (await refused.isVisible()) throw new Error(`the lesson did not start: ${await refused.innerText()}`);
}

async function chooseFirstLesson(page, name) {
  await page.goto(lectern.url);
  await page.getByRole("heading", { name: "Start a lesson" }).waitFor();
  // Topics and lessons come from the sample curriculum.
  await page.locator(".subtopic-option").first().waitFor();
  await page.getByLabel("Your name").fill(name);
}

test("learner lesson: speak, transcript of both sides, tool card, click an answer, end", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["microphone"] });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    await chooseFirstLesson(page, "Ada");
    await screenshot(page, "learner-setup", { doc: "learner-setup-desktop" });
    assert.deepEqual(await accessibilityProblems(page), []);
    await startLesson(page);

    const state = page.getByTestId("agent-state");
    await state.filter({ hasNotText: "Connecting" }).waitFor({ timeout: 20_000 });

    // The fake microphone speaks; the fake model "hears" the learner and the tutor answers.
    const transcript = page.getByTestId("transcript");
    await transcript.locator(".turn.learner").first().waitFor({ timeout: 30_000 });
    await transcript.locator(".turn.tutor").first().waitFor({ timeout: 30_000 });
    const learnerText = await transcript.locator(".turn.learner").first().innerText();
    assert.match(learnerText, /fraction/i);

    // The model called a teaching tool: its card is on screen.
    const cards = page.getByTestId("cards");
    await cards.locator(".card").first().waitFor({ timeout: 30_000 });
    await screenshot(page, "learner-lesson", { doc: "learner-desktop" });
    assert.deepEqual(await accessibilityProblems(page), []);

    // Answer a question by clicking when the card offers choices, else by typing.
    const choice = cards.locator("button.choice").first();
    if (await choice.count()) {
      const answer = await choice.innerText();
      await choice.click();
      await page.getByText(`You answered: ${answer}`).waitFor();
      await transcript.locator(".turn.learner", { hasText: answer }).waitFor();
    } else {
      await page.getByLabel("Type a message to the tutor").fill("Plants use light, water and carbon dioxide.");
      await page.getByRole("button", { name: "Send" }).click();
    }
    // The tutor answers the learner's reply.
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=transcript] .turn.tutor").length >= 2, null, { timeout: 30_000 });
    await screenshot(page, "learner-answered");

    await page.getByRole("button", { name: "End lesson" }).click();
    await page.getByText("The lesson has ended").waitFor({ timeout: 10_000 });
    assert.equal(await state.innerText(), "Lesson ended");
    await screenshot(page, "learner-ended");
  } catch (e) {
    await screenshot(page, "learner-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(lectern.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
  }
});

test("learner view at phone width", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, permissions: ["microphone"] });
  const page = await context.newPage();
  try {
    await chooseFirstLesson(page, "Ada");
    // Nothing may overflow sideways at phone width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at 390px`);
    await screenshot(page, "learner-phone-setup", { doc: "learner-phone-setup" });
    await startLesson(page);
    // The fake's script speaks once per server run (the first test used it): a started lesson is enough here.
    await page.getByTestId("agent-state").filter({ hasNotText: "Connecting" }).waitFor({ timeout: 20_000 });
    const overflowLive = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflowLive <= 0, `lesson scrolls sideways by ${overflowLive}px at 390px`);
    await screenshot(page, "learner-phone");
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.getByRole("button", { name: "End lesson" }).click();
  } finally {
    await context.close();
  }
});

test("a refused microphone gets a clear message and the setup form back", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    // Simulate the learner refusing the permission prompt.
    await page.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    });
    await chooseFirstLesson(page, "Ada");
    await page.getByRole("button", { name: "Start the lesson" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Microphone access is blocked" });
    await alert.waitFor({ timeout: 10_000 });
    assert.match(await alert.innerText(), /mic_blocked/);
    await screenshot(page, "learner-mic-blocked");
  } finally {
    await context.close();
  }
});
