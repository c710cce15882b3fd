// Microphone access with errors a learner can act on.

export interface MicrophoneProblem {
  code: "mic_blocked" | "mic_missing" | "mic_busy" | "mic_insecure" | "mic_failed";
  message: string;
}

/** Turn a getUserMedia failure into a sentence that says what to do. */
export function microphoneProblem(error: unknown): MicrophoneProblem {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return {
        code: "mic_blocked",
        message:
          "Microphone access is blocked. Allow it for this site (the icon at the left of the address bar), then start the lesson again. You can also type your answers.",
      };
    case "NotFoundError":
    case "OverconstrainedError":
      return { code: "mic_missing", message: "No microphone was found. Plug one in or pick another input in your system settings, then start again." };
    case "NotReadableError":
    case "AbortError":
      return {
        code: "mic_busy",
        message: "The microphone is in use by another application or could not be opened. Close the other app, then start again.",
      };
    case "InsecureContext":
      return {
        code: "mic_insecure",
        message: "The browser only allows the microphone on https:// pages or on localhost. Open Lectern over https.",
      };
    default:
      return { code: "mic_failed", message: "The microphone could not be started. Check your browser's permissions and try again." };
  }
}

/** Ask for the microphone with the processing speech needs. */
export async function openMicrophone(): Promise<MediaStream> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    const e = new Error("insecure context");
    e.name = "InsecureContext";
    throw e;
  }
  return navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    video: false,
  });
}
