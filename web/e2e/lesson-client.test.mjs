// The learner's lesson client in a real Chromium (AudioWorklets, fake microphone)
// against a scripted lesson socket: the page comes from `lectern serve`, and only
// `POST /api/sessions` and the lesson WebSocket are answered by the script below,
// so these checks hold the client to the protocol byte for byte.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, learnerWav, recordPageProblems, screenshot, startLectern } from "./harness.mjs";

const TUTOR_LINE = "Good question. Tell me in your own words what a plant needs to make sugar, and why light matters.";
/** 24 kHz PCM16 bytes of `ms` milliseconds of a quiet tone. */
function tone(ms) {
  const samples = (24_000 * ms) / 1000;
  const buf = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / 24_000)), i * 2);
  return buf;
}

let lectern;
let browser;

before(async () => {
  lectern = await startLectern();
  browser = await launchBrowser({ wav: learnerWav() });
});

after(async () => {
  await browser?.close();
  await lectern?.stop();
});

/** Opens a lesson whose socket runs `script(ws, send)`; returns what the client sent. */
async function scriptedLesson(page, script) {
  const sent = { text: [], binary: [] };
  await page.route("**/api/sessions", (route) =>
    route.fulfill({ status: 201, contentType: "application/json", body: JSON.stringify({ session_id: "s1", token: "t1", ws_url: "/api/sessions/s1/ws" }) }),
  );
  await page.routeWebSocket(/\/api\/sessions\/s1\/ws/, (ws) => {
    ws.onMessage((m) => (typeof m === "string" ? sent.text.push(JSON.parse(m)) : sent.binary.push(m)));
    const send = (event) => ws.send(JSON.stringify(event));
    script(ws, send);
  });
  await page.goto(lectern.url);
  await page.locator(".subtopic-option").first().waitFor();
  await page.getByLabel("Your name").fill("Ada");
  await page.getByRole("button", { name: "Start the lesson" }).click();
  return sent;
}

test("microphone audio goes out as 20 ms PCM16 frames; the tutor's line follows playout", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["microphone"] });
  const page = await context.newPage();
  const problems = recordPageProblems(page);
  try {
    const sent = await scriptedLesson(page, (ws, send) => {
      send({ type: "session.ready", session_id: "s1", subtopic: { id: "x", title: "What a plant needs", topic_title: "Photosynthesis" } });
      send({ type: "agent.state", state: "listening" });
      setTimeout(() => send({ type: "agent.state", state: "listening" }), 4500);
      setTimeout(() => {
        send({ type: "transcript.learner", item_id: "u1", text: "What does a plant need?", final: true });
        send({ type: "tool.card", call_id: "c1", tool: "check_understanding", display: { type: "question", prompt: "What does a plant need to make sugar?", choices: ["Light, water and carbon dioxide", "Only soil"], objective_id: null } });
        send({ type: "progress", objectives: [{ objective_id: "o1", text: "Explain what a plant needs", score: 0.5, evidence_count: 1 }] });
        send({ type: "agent.state", state: "speaking" });
        send({ type: "audio.start", item_id: "a1" });
        send({ type: "transcript.tutor.delta", item_id: "a1", delta: TUTOR_LINE });
        send({ type: "transcript.tutor.done", item_id: "a1", text: TUTOR_LINE });
        // 3 s of audio in 100 ms messages, faster than real time, as the server may send it.
        for (let i = 0; i < 30; i++) ws.send(tone(100));
        send({ type: "audio.done", item_id: "a1" });
      }, 500);
    });
    const tutor = page.locator("[data-testid=transcript] .turn.tutor");
    await tutor.first().waitFor({ timeout: 10_000 });
    // Part-way through playout only part of the line shows, ending on a whole word.
    const early = (await tutor.first().innerText()).replace(/^Tutor\s*/i, "");
    assert.ok(early.length < TUTOR_LINE.length, `"${early}" is shown before it is heard`);
    assert.ok(TUTOR_LINE.startsWith(early));
    // After playout the whole line shows, and playout positions went to the server.
    await tutor.filter({ hasText: "why light matters." }).waitFor({ timeout: 10_000 });
    const positions = sent.text.filter((e) => e.type === "playout.position");
    assert.ok(positions.length >= 3, "playout positions are reported while the tutor speaks");
    assert.ok(positions.every((p) => p.item_id === "a1" && Number.isInteger(p.played_ms)));
    assert.ok(positions.at(-1).played_ms > 2000 && positions.at(-1).played_ms <= 3000, `last position ${positions.at(-1).played_ms} ms`);
    // The fake microphone was captured, resampled to 24 kHz and sent in 20 ms frames (960 bytes).
    assert.ok(sent.binary.length > 50, `${sent.binary.length} audio frames sent`);
    assert.ok(sent.binary.every((f) => f.length === 960), "every frame is 480 samples of PCM16");
    const loud = sent.binary.some((f) => {
      for (let i = 0; i < f.length; i += 2) if (Math.abs(f.readInt16LE(i)) > 1000) return true;
      return false;
    });
    assert.ok(loud, "the frames carry the microphone's speech, not silence");
    await page.getByText("50%").waitFor();
    await page.getByTestId("agent-state").filter({ hasText: "Listening" }).waitFor({ timeout: 5_000 });
    await screenshot(page, "lesson-client-desktop");
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the lesson scrolls sideways by ${overflow}px at 390px`);
    await screenshot(page, "lesson-client-phone");
    await page.setViewportSize({ width: 1280, height: 900 });

    // Clicking a choice answers by text; ending sends lesson.end.
    await page.getByRole("button", { name: "Light, water and carbon dioxide" }).click();
    await page.getByRole("button", { name: "End lesson" }).click();
    await page.getByText("The lesson has ended").waitFor();
    assert.deepEqual(
      sent.text.filter((e) => e.type !== "playout.position"),
      [{ type: "text.input", text: "Light, water and carbon dioxide" }, { type: "lesson.end" }],
    );
    await screenshot(page, "lesson-client-scripted");
  } catch (e) {
    await screenshot(page, "lesson-client-failure").catch(() => undefined);
    console.error(problems.join("\n"));
    throw e;
  } finally {
    await context.close();
  }
});

test("audio.clear stops playout at once and reports what was heard", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["microphone"] });
  const page = await context.newPage();
  try {
    let clearedAt = 0;
    const sent = await scriptedLesson(page, (ws, send) => {
      send({ type: "session.ready", session_id: "s1", subtopic: { id: "x", title: "Scripted lesson", topic_title: "Tests" } });
      send({ type: "audio.start", item_id: "a2" });
      send({ type: "transcript.tutor.delta", item_id: "a2", delta: TUTOR_LINE });
      for (let i = 0; i < 100; i++) ws.send(tone(100)); // 10 s
      setTimeout(() => {
        clearedAt = Date.now();
        send({ type: "audio.clear", item_id: "a2" });
      }, 2500);
    });
    const cut = page.locator("[data-testid=transcript] .turn.tutor .cut");
    await cut.waitFor({ timeout: 15_000 });
    const answer = sent.text.filter((e) => e.type === "playout.position").at(-1);
    assert.equal(answer.item_id, "a2");
    // About 2.5 s were played (minus the start-up and the jitter buffer), far from the 10 s sent.
    assert.ok(answer.played_ms > 1000 && answer.played_ms < 3000, `played ${answer.played_ms} ms`);
    const line = (await page.locator("[data-testid=transcript] .turn.tutor").innerText()).replace(/^Tutor\s*/i, "").replace(/\s*— interrupted$/, "");
    assert.ok(TUTOR_LINE.startsWith(line) && line.length < TUTOR_LINE.length / 2, `cut line: "${line}"`);
    // No further playout reports for the cleared item after the answer.
    await page.waitForTimeout(500);
    const later = sent.text.filter((e) => e.type === "playout.position" && e.played_ms > answer.played_ms);
    assert.deepEqual(later, []);
    assert.ok(clearedAt > 0);
    await screenshot(page, "lesson-client-barge-in");
  } finally {
    await context.close();
  }
});
