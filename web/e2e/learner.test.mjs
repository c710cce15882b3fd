// A learner starts a lesson, speaks (fake microphone), sees both sides of the
// transcript and a practice question from the bundled quiz plugin, answers it
// by clicking a choice, sees the plugin's next question, and ends the lesson.

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { accessibilityProblems, launchBrowser, learnerWav, recordPageProblems, screenshot, startLectern } from "./harness.mjs";

/** A lesson of the sample curriculum whose tools include the quiz plugin. */
const QUIZ_LESSON = "Equivalent fractions and simplifying";
const QUIZ_SCRIPT = fileURLToPath(new URL("./scripts/quiz.json", import.meta.url));

let lectern;
let browser;

before(async () => {
  // The fake model starts a quiz when the learner speaks, and answers the
  // learner's next message with answer_quiz {"answer": "A"}: the first choice.
  lectern = await startLectern({ script: QUIZ_SCRIPT, record: true });
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

async function chooseLesson(page, name, title = null, server = lectern) {
  await page.goto(server.url);
  await page.getByRole("heading", { name: "Start a lesson" }).waitFor();
  // Topics and lessons come from the sample curriculum.
  await page.locator(".subtopic-option").first().waitFor();
  if (title) {
    await page.locator(".subtopic-option", { hasText: title }).click();
    assert.ok(await page.getByRole("radio", { name: title }).isChecked(), `${title} is chosen`);
  }
  await page.getByLabel("Your name").fill(name);
}

test("learner lesson: speak, transcript of both sides, quiz card, click an answer, next question, end", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["microphone"] });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    await chooseLesson(page, "Ada", QUIZ_LESSON);
    await screenshot(page, "learner-setup", { doc: "learner-setup-desktop" });
    assert.deepEqual(await accessibilityProblems(page), []);
    await startLesson(page);

    const state = page.getByTestId("agent-state");
    // The fake microphone speaks; the fake model "hears" the learner and starts a quiz.
    const transcript = page.getByTestId("transcript");
    await transcript.locator(".turn.learner").first().waitFor({ timeout: 30_000 });
    assert.match(await transcript.locator(".turn.learner").first().innerText(), /quiz me on equivalent fractions/i);

    // The quiz plugin's first question, with its choices as buttons.
    const cards = page.getByTestId("cards");
    const first = cards.locator(".card.question", { hasText: "(1/3)" });
    await first.waitFor({ timeout: 30_000 });
    const choices = first.locator("button.choice");
    assert.ok((await choices.count()) >= 2, "the question offers choices");
    // The tutor reads the question out, then listens.
    await transcript.locator(".turn.tutor", { hasText: "first question" }).waitFor({ timeout: 30_000 });
    await state.filter({ hasText: "Listening" }).waitFor({ timeout: 30_000 });
    await screenshot(page, "learner-lesson", { doc: "learner-desktop" });
    assert.deepEqual(await accessibilityProblems(page), []);

    // Click the first choice (A).
    assert.equal((await choices.first().locator(".choice-letter").innerText()).trim(), "A");
    const answer = (await choices.first().locator(".choice-text").innerText()).trim();
    await choices.first().click();
    await first.getByText(`You answered: ${answer}`).waitFor();
    assert.equal(await choices.first().getAttribute("aria-pressed"), "true");
    assert.ok(await choices.last().isDisabled(), "a question is answered once");
    await transcript.locator(".turn.learner", { hasText: answer }).waitFor();

    // The model was told exactly what the learner clicked...
    const sent = await lectern.realtime.waitFor(
      (e) => e.type === "conversation.item.create" && e.item?.type === "message" && e.item?.role === "user",
      10_000,
      "the learner's clicked answer",
    );
    assert.deepEqual(
      sent.item.content.map((c) => c.text ?? c.transcript),
      [answer],
      `the user message carries the clicked choice: ${JSON.stringify(sent.item)}`,
    );
    // ...and its answer_quiz call ran in the real plugin, which judged that choice.
    const output = await lectern.realtime.waitFor(
      (e) => e.type === "conversation.item.create" && e.item?.type === "function_call_output" && /Right:|Not quite:/.test(e.item.output ?? ""),
      20_000,
      "answer_quiz's output",
    );
    assert.ok(output.item.output.includes(answer), `answer_quiz judged the clicked choice: ${output.item.output}`);

    // The plugin's next question lands on top of the answered one.
    const second = cards.locator(".card.question", { hasText: "(2/3)" });
    await second.waitFor({ timeout: 20_000 });
    assert.equal(await cards.locator(".card").first().innerText().then((t) => t.includes("(2/3)")), true);
    assert.equal(await second.locator("button.choice:not([disabled])").count() >= 2, true, "the next question can be answered");
    await transcript.locator(".turn.tutor", { hasText: "next question" }).waitFor({ timeout: 30_000 });
    await screenshot(page, "learner-answered");
    assert.deepEqual(await accessibilityProblems(page), []);

    await page.getByRole("button", { name: "End lesson" }).click();
    await page.getByText("The lesson has ended").waitFor({ timeout: 10_000 });
    assert.equal(await state.innerText(), "Lesson ended");
    await screenshot(page, "learner-ended");
  } catch (e) {
    await screenshot(page, "learner-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(JSON.stringify(lectern.realtime?.events().slice(-20), null, 1));
    console.error(lectern.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
  }
});

test("learner view at phone width", async () => {
  // The fake's script speaks once per server run: this lesson gets its own.
  const server = await startLectern({ script: QUIZ_SCRIPT });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, permissions: ["microphone"] });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  try {
    await chooseLesson(page, "Ada", QUIZ_LESSON, server);
    // Nothing may overflow sideways at phone width.
    const overflow = await sideways();
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at 390px`);
    await screenshot(page, "learner-phone-setup", { doc: "learner-phone-setup" });
    await startLesson(page);
    await page.getByTestId("transcript").locator(".turn.tutor", { hasText: "first question" }).waitFor({ timeout: 30_000 });
    const card = page.getByTestId("cards").locator(".card.question", { hasText: "(1/3)" });
    await card.waitFor({ timeout: 10_000 });
    await page.getByTestId("agent-state").filter({ hasText: "Listening" }).waitFor({ timeout: 30_000 });
    const overflowLive = await sideways();
    assert.ok(overflowLive <= 0, `lesson scrolls sideways by ${overflowLive}px at 390px`);
    // Choices are comfortable touch targets.
    const box = await card.locator("button.choice").first().boundingBox();
    assert.ok(box && box.height >= 44, `a choice is ${box?.height}px tall`);
    await screenshot(page, "learner-phone", { doc: "learner-phone" });
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.getByRole("button", { name: "End lesson" }).click();
    await page.getByText("The lesson has ended").waitFor({ timeout: 10_000 });
  } catch (e) {
    await screenshot(page, "learner-phone-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    console.error(server.logs.slice(-40).join(""));
    throw e;
  } finally {
    await context.close();
    await server.stop();
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
    await chooseLesson(page, "Ada");
    await page.getByRole("button", { name: "Start the lesson" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Microphone access is blocked" });
    await alert.waitFor({ timeout: 10_000 });
    assert.match(await alert.innerText(), /mic_blocked/);
    await screenshot(page, "learner-mic-blocked");
  } finally {
    await context.close();
  }
});
