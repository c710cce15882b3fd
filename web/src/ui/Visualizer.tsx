import { useEffect, useRef } from "react";

interface Props {
  mic: AnalyserNode | null;
  tutor: AnalyserNode | null;
  /** Colors follow the stylesheet's brand and accent. */
  label: string;
}

const BARS = 32;

/** Two mirrored spectra: the learner's voice above, the tutor's below. Decorative; the state is also in text. */
export function Visualizer({ mic, tutor, label }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const ctx = el.getContext("2d");
    if (!ctx) return;
    const reduceMotion = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
    const micData = new Uint8Array(mic?.frequencyBinCount ?? 0);
    const tutorData = new Uint8Array(tutor?.frequencyBinCount ?? 0);
    let frame = 0;
    let last = 0;

    const draw = (now: number) => {
      frame = requestAnimationFrame(draw);
      if (reduceMotion && now - last < 500) return;
      last = now;
      const dpr = window.devicePixelRatio || 1;
      const w = el.clientWidth;
      const h = el.clientHeight;
      if (el.width !== Math.round(w * dpr)) el.width = Math.round(w * dpr);
      if (el.height !== Math.round(h * dpr)) el.height = Math.round(h * dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (mic) mic.getByteFrequencyData(micData);
      if (tutor) tutor.getByteFrequencyData(tutorData);
      const mid = h / 2;
      const gap = 3;
      const barW = Math.max(2, (w - gap * (BARS - 1)) / BARS);
      for (let i = 0; i < BARS; i++) {
        // Speech lives in the lower bins: sample those more densely.
        const bin = Math.floor(Math.pow(i / BARS, 1.6) * (micData.length || tutorData.length || 1));
        const m = (micData[bin] ?? 0) / 255;
        const t = (tutorData[bin] ?? 0) / 255;
        const x = i * (barW + gap);
        ctx.fillStyle = "#2f5d50";
        const th = Math.max(2, t * (mid - 4));
        ctx.fillRect(x, mid - th, barW, th);
        ctx.fillStyle = "#a3620f";
        const mh = Math.max(2, m * (mid - 4));
        ctx.fillRect(x, mid + 1, barW, mh);
      }
    };
    frame = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(frame);
  }, [mic, tutor]);

  return <canvas ref={canvas} className="visualizer" role="img" aria-label={label} />;
}
