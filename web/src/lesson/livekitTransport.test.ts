// The LiveKit transport against a stand-in `livekit-client` Room: what it asks
// the server for, what it reads from the room's conventions, what it sends.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { initialLessonView, lessonViewReducer, type LessonView } from "./lessonState";
import { LessonStartError, type LessonUpdate } from "./transport";

type Handler = (...args: unknown[]) => void;
type StreamHandler = (reader: FakeReader, who: { identity: string }) => void;

const LEARNER = "learner-identity";
const AGENT = "agent-lectern";
const MIC_TRACK_SID = "TR_learner_mic";

/** A text stream whose chunks the test feeds; closing it applies trailer attributes like livekit-client does. */
class FakeReader {
  info: { id: string; topic: string; timestamp: number; attributes?: Record<string, string> };
  private chunks: string[] = [];
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(topic: string, id: string, attributes: Record<string, string>) {
    this.info = { id, topic, timestamp: Date.now(), attributes };
  }
  push(text: string): void {
    this.chunks.push(text);
    this.wake?.();
  }
  close(trailer: Record<string, string> = {}): void {
    this.info.attributes = { ...this.info.attributes, ...trailer };
    this.closed = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      if (this.chunks.length > 0) {
        yield this.chunks.shift()!;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
  async readAll(): Promise<string> {
    let all = "";
    for await (const c of this) all += c;
    return all;
  }
}

interface FakeParticipant {
  identity: string;
  attributes: Record<string, string>;
}

/** What each test arranges before `start()` and reads afterwards. */
const setup = {
  connectError: null as Error | null,
  micError: null as Error | null,
  remote: [] as FakeParticipant[],
};

class FakeRoom {
  static last: FakeRoom | null = null;
  options: unknown;
  handlers = new Map<string, StreamHandler>();
  listeners = new Map<string, Handler[]>();
  remoteParticipants = new Map<string, FakeParticipant>();
  connect = vi.fn(async (_url: string, _token: string) => {
    if (setup.connectError) throw setup.connectError;
  });
  disconnect = vi.fn(async () => {
    this.fire("disconnected", "CLIENT_INITIATED");
  });
  localParticipant = {
    identity: LEARNER,
    trackPublications: new Map<string, unknown>(),
    setMicrophoneEnabled: vi.fn(async (enabled: boolean) => {
      if (setup.micError) throw setup.micError;
      if (!enabled) return undefined;
      this.localParticipant.trackPublications.set(MIC_TRACK_SID, {});
      return { trackSid: MIC_TRACK_SID, track: { mediaStreamTrack: { kind: "audio" } } };
    }),
    sendText: vi.fn(async (_text: string, _options: { topic: string }) => ({ id: "sent" })),
  };

  constructor(options: unknown) {
    this.options = options;
    for (const p of setup.remote) this.remoteParticipants.set(p.identity, p);
    FakeRoom.last = this;
  }
  registerTextStreamHandler(topic: string, handler: StreamHandler): void {
    this.handlers.set(topic, handler);
  }
  on(event: string, fn: Handler): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
    return this;
  }
  fire(event: string, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) fn(...args);
  }
  /** A stream on `topic` from `identity`, handed to the registered handler. */
  stream(topic: string, identity: string, attributes: Record<string, string> = {}, id = `stream-${Math.random()}`): FakeReader {
    const handler = this.handlers.get(topic);
    if (!handler) throw new Error(`no handler for ${topic}`);
    const reader = new FakeReader(topic, id, attributes);
    handler(reader, { identity });
    return reader;
  }
}

vi.mock("livekit-client", () => ({
  Room: FakeRoom,
  RoomEvent: {
    ParticipantAttributesChanged: "participantAttributesChanged",
    ParticipantConnected: "participantConnected",
    TrackSubscribed: "trackSubscribed",
    Disconnected: "disconnected",
  },
  Track: { Kind: { Audio: "audio", Video: "video" } },
}));

const { LiveKitTransport, CHAT_TOPIC, LECTERN_EVENTS_TOPIC, TRANSCRIPTION_TOPIC } = await import("./livekitTransport");

class FakeAudioContext {
  createAnalyser() {
    return { fftSize: 0 };
  }
  createMediaStreamSource() {
    return { connect: () => undefined };
  }
  close = vi.fn(async () => undefined);
}

const DETAILS = { serverUrl: "wss://livekit.example", roomName: "lesson-1", participantName: "Ada", participantToken: "jwt-token" };
let fetchMock: ReturnType<typeof vi.fn>;

beforeEach(() => {
  setup.connectError = null;
  setup.micError = null;
  setup.remote = [{ identity: AGENT, attributes: { "lk.agent.state": "listening" } }];
  FakeRoom.last = null;
  fetchMock = vi.fn(async () => new Response(JSON.stringify(DETAILS), { status: 200, headers: { "Content-Type": "application/json" } }));
  vi.stubGlobal("fetch", fetchMock);
  vi.stubGlobal("AudioContext", FakeAudioContext);
  vi.stubGlobal("MediaStream", class {});
  vi.stubGlobal("document", { body: { appendChild: () => undefined } });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

/** A started transport, every update it emitted, and the view they add up to. */
async function started() {
  const updates: LessonUpdate[] = [];
  const transport = new LiveKitTransport("fractions-basics", "Ada", (u) => updates.push(u));
  await transport.start();
  const room = FakeRoom.last!;
  const view = (): LessonView => updates.reduce(lessonViewReducer, initialLessonView);
  return { transport, room, updates, view };
}

/** Lets the transport's stream readers run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("LiveKit transport: joining", () => {
  it("fetches connection details for the lesson and joins the room with them", async () => {
    const { room, updates } = await started();
    expect(updates[0]).toEqual({ type: "state", state: "connecting" });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe("/api/connection-details");
    expect(init.method).toBe("POST");
    const body = JSON.parse(init.body as string);
    expect(body.participant_name).toBe("Ada");
    expect(JSON.parse(body.participant_metadata)).toEqual({ subtopic_id: "fractions-basics" });
    expect(JSON.parse(body.room_config.agents[0].metadata).subtopic_id).toBe("fractions-basics");
    expect(room.connect).toHaveBeenCalledWith("wss://livekit.example", "jwt-token");
    expect(room.localParticipant.setMicrophoneEnabled).toHaveBeenCalledWith(true, expect.objectContaining({ echoCancellation: true }));
  });

  it("passes the server's refusal on with its code", async () => {
    fetchMock.mockResolvedValueOnce(
      new Response(JSON.stringify({ error: { code: "livekit_not_configured", message: "LiveKit is not configured on this server." } }), { status: 503 }),
    );
    const transport = new LiveKitTransport("fractions-basics", "Ada", () => undefined);
    const error = await transport.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LessonStartError);
    expect((error as LessonStartError).code).toBe("livekit_not_configured");
    expect(FakeRoom.last).toBeNull();
  });

  it("says so when the room cannot be joined", async () => {
    setup.connectError = new Error("websocket closed");
    const transport = new LiveKitTransport("fractions-basics", "Ada", () => undefined);
    const error = (await transport.start().catch((e: unknown) => e)) as LessonStartError;
    expect(error).toBeInstanceOf(LessonStartError);
    expect(error.code).toBe("connect_failed");
    expect(error.message).toMatch(/Could not join the lesson room/);
  });

  it("a refused microphone gives the learner a message and leaves the room", async () => {
    setup.micError = new DOMException("Permission denied", "NotAllowedError");
    const transport = new LiveKitTransport("fractions-basics", "Ada", () => undefined);
    const error = (await transport.start().catch((e: unknown) => e)) as LessonStartError;
    expect(error).toBeInstanceOf(LessonStartError);
    expect(error.code).toBe("mic_blocked");
    expect(error.message).toMatch(/Microphone access is blocked/);
    expect(FakeRoom.last!.disconnect).toHaveBeenCalled();
  });
});

describe("LiveKit transport: the agent's state", () => {
  it("reads lk.agent.state of the agent already in the room, then its changes", async () => {
    const { room, view } = await started();
    expect(view().agentState).toBe("listening");
    const agent = room.remoteParticipants.get(AGENT)!;
    agent.attributes = { "lk.agent.state": "thinking" };
    room.fire("participantAttributesChanged", { "lk.agent.state": "thinking" }, agent);
    expect(view().agentState).toBe("thinking");
    agent.attributes = { "lk.agent.state": "speaking" };
    room.fire("participantAttributesChanged", { "lk.agent.state": "speaking" }, agent);
    expect(view().agentState).toBe("speaking");
    // Values outside the convention change nothing.
    agent.attributes = { "lk.agent.state": "pondering" };
    room.fire("participantAttributesChanged", { "lk.agent.state": "pondering" }, agent);
    expect(view().agentState).toBe("speaking");
  });

  it("picks up an agent that joins after the learner", async () => {
    setup.remote = [];
    const { room, view } = await started();
    expect(view().agentState).toBe("connecting");
    room.fire("participantConnected", { identity: AGENT, attributes: { "lk.agent.state": "initializing" } });
    expect(view().agentState).toBe("connecting");
    room.fire("participantConnected", { identity: AGENT, attributes: { "lk.agent.state": "listening" } });
    expect(view().agentState).toBe("listening");
  });
});

describe("LiveKit transport: transcripts on lk.transcription", () => {
  it("streams the tutor's segment as it arrives and marks it final from the trailer", async () => {
    const { room, view } = await started();
    const seg = room.stream(TRANSCRIPTION_TOPIC, AGENT, { "lk.segment_id": "SG_tutor_1", "lk.transcription_final": "false" });
    seg.push("A fraction ");
    await settle();
    expect(view().transcript).toMatchObject([{ id: "SG_tutor_1", speaker: "tutor", text: "A fraction ", final: false, synced: true }]);
    seg.push("names equal parts.");
    seg.close({ "lk.transcription_final": "true" });
    await settle();
    expect(view().transcript).toMatchObject([{ id: "SG_tutor_1", speaker: "tutor", text: "A fraction names equal parts.", final: true }]);
  });

  it("keeps segments apart by lk.segment_id, in arrival order", async () => {
    const { room, view } = await started();
    const a = room.stream(TRANSCRIPTION_TOPIC, AGENT, { "lk.segment_id": "SG_a" });
    a.push("First.");
    a.close();
    await settle();
    const b = room.stream(TRANSCRIPTION_TOPIC, AGENT, { "lk.segment_id": "SG_b" });
    b.push("Second.");
    b.close();
    await settle();
    expect(view().transcript.map((e) => [e.id, e.text, e.final])).toEqual([
      ["SG_a", "First.", true],
      ["SG_b", "Second.", true],
    ]);
  });

  it("replaces the learner's interim text with the final text of the same segment", async () => {
    const { room, view } = await started();
    const interim = room.stream(TRANSCRIPTION_TOPIC, LEARNER, { "lk.segment_id": "SG_learner_1", "lk.transcription_final": "false" });
    interim.push("the bottom");
    interim.close();
    await settle();
    expect(view().transcript).toMatchObject([{ id: "SG_learner_1", speaker: "learner", text: "the bottom", final: false }]);
    const final = room.stream(TRANSCRIPTION_TOPIC, LEARNER, { "lk.segment_id": "SG_learner_1", "lk.transcription_final": "true" });
    final.push("The bottom number is the denominator.");
    final.close();
    await settle();
    expect(view().transcript).toHaveLength(1);
    expect(view().transcript[0]).toMatchObject({ id: "SG_learner_1", speaker: "learner", text: "The bottom number is the denominator.", final: true });
  });

  it("knows the learner's words by the transcribed track when the agent sends them", async () => {
    const { room, view } = await started();
    const s = room.stream(TRANSCRIPTION_TOPIC, AGENT, { "lk.segment_id": "SG_l", "lk.transcribed_track_id": MIC_TRACK_SID });
    s.push("Three quarters.");
    s.close();
    const t = room.stream(TRANSCRIPTION_TOPIC, AGENT, { "lk.segment_id": "SG_t", "lk.transcribed_track_id": "TR_agent_voice" });
    t.push("Well done.");
    t.close();
    await settle();
    expect(view().transcript.map((e) => [e.id, e.speaker])).toEqual([
      ["SG_l", "learner"],
      ["SG_t", "tutor"],
    ]);
  });

  it("falls back to the stream id without a segment id", async () => {
    const { room, view } = await started();
    const s = room.stream(TRANSCRIPTION_TOPIC, AGENT, {}, "stream-42");
    s.push("Hello.");
    s.close();
    await settle();
    expect(view().transcript).toMatchObject([{ id: "stream-42", text: "Hello.", final: true }]);
  });
});

describe("LiveKit transport: lectern.events", () => {
  it("turns tool cards and progress into the learner's view", async () => {
    const { room, view } = await started();
    const card = room.stream(LECTERN_EVENTS_TOPIC, AGENT);
    card.push(
      JSON.stringify({
        type: "tool.card",
        call_id: "call_1",
        tool: "start_quiz",
        display: { type: "question", prompt: "The _____ is the number of equal parts.", choices: ["denominator", "numerator"] },
      }),
    );
    card.close();
    const progress = room.stream(LECTERN_EVENTS_TOPIC, AGENT);
    progress.push(JSON.stringify({ type: "progress", objectives: [{ objective_id: "name-parts", text: "Name the parts", score: 0.5, evidence_count: 1 }] }));
    progress.close();
    await settle();
    expect(view().cards).toEqual([
      {
        callId: "call_1",
        tool: "start_quiz",
        answer: null,
        display: { kind: "question", prompt: "The _____ is the number of equal parts.", choices: ["denominator", "numerator"], objectiveId: null },
      },
    ]);
    expect(view().progress).toEqual([{ objectiveId: "name-parts", text: "Name the parts", score: 0.5, evidenceCount: 1 }]);
  });

  it("ignores what is not a Lectern event", async () => {
    const { room, updates } = await started();
    const before = updates.length;
    for (const text of ["not json", JSON.stringify({ type: "tool.card", call_id: "x" }), JSON.stringify({ type: "something.else" })]) {
      const s = room.stream(LECTERN_EVENTS_TOPIC, AGENT);
      s.push(text);
      s.close();
    }
    await settle();
    expect(updates.length).toBe(before);
  });

  it("ends the lesson when the agent says it ended, and leaves the room", async () => {
    const { room, view } = await started();
    const s = room.stream(LECTERN_EVENTS_TOPIC, AGENT);
    s.push(JSON.stringify({ type: "lesson.ended", reason: "time_limit" }));
    s.close();
    await settle();
    expect(view()).toMatchObject({ ended: true, endReason: "time_limit", agentState: "ended", error: null });
    expect(room.disconnect).toHaveBeenCalled();
  });
});

describe("LiveKit transport: the learner's input and leaving", () => {
  it("sends typed text on lk.chat and shows it at once", async () => {
    const { transport, room, view } = await started();
    transport.sendText("  B) the denominator ");
    expect(room.localParticipant.sendText).toHaveBeenCalledWith("B) the denominator", { topic: CHAT_TOPIC });
    expect(view().transcript).toMatchObject([{ speaker: "learner", text: "B) the denominator", final: true, typed: true }]);
    transport.sendText("   ");
    expect(room.localParticipant.sendText).toHaveBeenCalledTimes(1);
  });

  it("mutes by turning the microphone off", async () => {
    const { transport, room } = await started();
    transport.setMuted(true);
    expect(room.localParticipant.setMicrophoneEnabled).toHaveBeenLastCalledWith(false);
    transport.setMuted(false);
    expect(room.localParticipant.setMicrophoneEnabled).toHaveBeenLastCalledWith(true);
  });

  it("an unexpected disconnect ends the lesson with a message", async () => {
    const { room, view } = await started();
    room.fire("disconnected", "SIGNAL_CLOSE");
    expect(view()).toMatchObject({ ended: true, agentState: "ended", error: { code: "connection_lost" } });
    expect(view().error!.message).toMatch(/Start the lesson again/);
  });

  it("ending the lesson leaves the room without an error", async () => {
    const { transport, room, view } = await started();
    await transport.end();
    expect(room.disconnect).toHaveBeenCalled();
    expect(view()).toMatchObject({ ended: true, endReason: "learner_ended", agentState: "ended", error: null });
    // Later agent updates do not bring the lesson back.
    room.fire("participantAttributesChanged", {}, { identity: AGENT, attributes: { "lk.agent.state": "listening" } });
    expect(view().agentState).toBe("ended");
  });
});
