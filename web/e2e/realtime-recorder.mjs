// A WebSocket relay between `lectern serve` and the fake Realtime server that
// keeps every client event Lectern sent, so a browser test can assert what the
// model was told (e.g. the answer a learner clicked) rather than only what the
// page shows.

import { WebSocket, WebSocketServer } from "ws";

/** Headers Lectern's Realtime client sends that the upstream should see. */
const FORWARDED_HEADERS = ["authorization", "openai-beta", "user-agent"];

/** Close codes a peer may not send itself (no status, abnormal): relayed as a plain close. */
const RESERVED_CLOSE_CODES = new Set([1005, 1006, 1015]);

/**
 * Listen on a free local port and relay each connection to `upstreamUrl`
 * (same path and query). Resolves once listening.
 */
export async function startRealtimeRecorder(upstreamUrl) {
  const upstream = new URL(upstreamUrl);
  /** Client events, parsed, in order; audio appends keep only their size. */
  const events = [];
  const waiters = new Set();
  const sockets = new Set();

  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((res, rej) => {
    server.once("listening", res);
    server.once("error", rej);
  });

  const record = (event) => {
    events.push(event);
    for (const w of waiters) w();
  };

  server.on("connection", (client, request) => {
    const target = new URL(request.url ?? "/", upstream);
    const headers = {};
    for (const name of FORWARDED_HEADERS) if (request.headers[name]) headers[name] = request.headers[name];
    const up = new WebSocket(target, { headers });
    sockets.add(client).add(up);
    const pending = [];
    up.on("open", () => {
      for (const [data, isBinary] of pending.splice(0)) up.send(data, { binary: isBinary });
    });
    client.on("message", (data, isBinary) => {
      if (!isBinary) {
        try {
          const event = JSON.parse(data.toString());
          if (event.type === "input_audio_buffer.append") record({ type: event.type, audio_bytes: Buffer.from(event.audio ?? "", "base64").length });
          else record(event);
        } catch {
          record({ type: "unparsed", text: data.toString() });
        }
      }
      if (up.readyState === WebSocket.OPEN) up.send(data, { binary: isBinary });
      else pending.push([data, isBinary]);
    });
    up.on("message", (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const closeBoth = (code, reason) => {
      for (const s of [client, up]) {
        if (s.readyState === WebSocket.OPEN) {
          if (RESERVED_CLOSE_CODES.has(code)) s.terminate();
          else s.close(code, reason);
        } else if (s.readyState === WebSocket.CONNECTING) {
          s.terminate();
        }
      }
    };
    client.on("close", closeBoth);
    up.on("close", closeBoth);
    client.on("error", () => up.terminate());
    up.on("error", () => client.terminate());
  });

  const { port } = server.address();
  return {
    url: `ws://127.0.0.1:${port}${upstream.pathname}`,
    /** Everything recorded so far, audio appends left out. */
    events: () => events.filter((e) => e.type !== "input_audio_buffer.append"),
    /** Waits for the first recorded event `predicate` accepts (and returns it). */
    waitFor(predicate, timeoutMs = 20_000, what = "a Realtime client event") {
      return new Promise((res, rej) => {
        const check = () => {
          const found = events.find(predicate);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            res(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = events.filter((e) => e.type !== "input_audio_buffer.append").map((e) => e.type);
          rej(new Error(`${what} was not sent within ${timeoutMs} ms; sent: ${seen.join(", ")}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async stop() {
      for (const s of sockets) s.terminate();
      await new Promise((res) => server.close(() => res()));
    },
  };
}
