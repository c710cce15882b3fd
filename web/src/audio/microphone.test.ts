import { describe, expect, it } from "vitest";
import { microphoneProblem } from "./microphone";

describe("microphone problems", () => {
  it("says what to do for each getUserMedia failure", () => {
    expect(microphoneProblem(new DOMException("denied", "NotAllowedError")).code).toBe("mic_blocked");
    expect(microphoneProblem(new DOMException("none", "NotFoundError")).code).toBe("mic_missing");
    expect(microphoneProblem(new DOMException("busy", "NotReadableError")).code).toBe("mic_busy");
    const insecure = new Error("x");
    insecure.name = "InsecureContext";
    expect(microphoneProblem(insecure).message).toMatch(/https/);
    expect(microphoneProblem("weird").code).toBe("mic_failed");
  });

  it("offers typing when the microphone is blocked", () => {
    expect(microphoneProblem(new DOMException("denied", "NotAllowedError")).message).toMatch(/type your answers/);
  });
});
