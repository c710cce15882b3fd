//! Resampling (48 kHz <-> 24 kHz) and framing of PCM16 mono audio.
//!
//! The Realtime API speaks 24 kHz; WebRTC (LiveKit) and most browsers run at
//! 48 kHz. The factor is exactly 2, so one half-band low-pass FIR does both
//! directions: decimation filters then keeps every other sample, interpolation
//! inserts zeros then filters. In a half-band filter every other tap is zero,
//! so each output sample costs about half the taps, and one polyphase branch
//! of the interpolator is a pure delay.
//!
//! The filters keep their history between calls, so audio processed frame by
//! frame is sample-for-sample identical to audio processed in one piece: no
//! clicks at frame joins.

use base64::Engine as _;

/// Frame duration used everywhere audio moves (transport, Realtime, benches).
pub const FRAME_MS: u32 = 20;
/// The Realtime API's PCM rate.
pub const RATE_24K_HZ: u32 = 24_000;
/// WebRTC's usual rate.
pub const RATE_48K_HZ: u32 = 48_000;
/// Samples in a 20 ms frame at 24 kHz.
pub const SAMPLES_PER_FRAME_24K: usize = (RATE_24K_HZ * FRAME_MS / 1000) as usize;
/// Samples in a 20 ms frame at 48 kHz.
pub const SAMPLES_PER_FRAME_48K: usize = (RATE_48K_HZ * FRAME_MS / 1000) as usize;

/// Taps of the half-band filter. 4k+3 so the centre tap is odd and the
/// half-band zeros fall on the odd taps; 63 taps with a Kaiser window
/// (beta 8) give about 80 dB of stop-band rejection above 14 kHz (at 48 kHz)
/// with a flat pass band to 10 kHz, beyond what speech needs.
pub const HALF_BAND_TAPS: usize = 63;
const KAISER_BETA: f64 = 8.0;
const CENTRE: usize = (HALF_BAND_TAPS - 1) / 2;

/// Milliseconds of 24 kHz audio in `samples` samples.
pub fn ms_of_24k(samples: usize) -> u64 {
    samples as u64 * 1000 / RATE_24K_HZ as u64
}

/// The non-zero even taps of the half-band low-pass (cut-off at a quarter of
/// the higher rate), normalised for unity DC gain; the centre tap is 0.5.
fn even_taps() -> Vec<f32> {
    fn bessel_i0(x: f64) -> f64 {
        let mut sum = 1.0;
        let mut term = 1.0;
        let mut k = 1.0;
        while term > 1e-12 * sum {
            term *= (x / (2.0 * k)) * (x / (2.0 * k));
            sum += term;
            k += 1.0;
        }
        sum
    }
    let n = HALF_BAND_TAPS as f64 - 1.0;
    let full: Vec<f64> = (0..HALF_BAND_TAPS)
        .map(|i| {
            let t = i as f64 - CENTRE as f64;
            let sinc = if t == 0.0 {
                0.5
            } else {
                (std::f64::consts::PI * t / 2.0).sin() / (std::f64::consts::PI * t)
            };
            let r = 2.0 * i as f64 / n - 1.0;
            sinc * bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(KAISER_BETA)
        })
        .collect();
    // Normalise so the even taps sum to 0.5 (the centre tap is the other 0.5).
    let even_sum: f64 = full.iter().step_by(2).sum();
    full.iter()
        .step_by(2)
        .map(|h| (h * 0.5 / even_sum) as f32)
        .collect()
}

fn to_i16(x: f32) -> i16 {
    x.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

/// 48 kHz -> 24 kHz, streaming.
#[derive(Debug, Clone)]
pub struct Downsampler {
    taps: Vec<f32>,
    /// Context (the last taps-1 samples) followed by unconsumed input.
    buf: Vec<f32>,
}

impl Default for Downsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Downsampler {
    /// A downsampler with silent history.
    pub fn new() -> Self {
        Downsampler {
            taps: even_taps(),
            buf: vec![0.0; HALF_BAND_TAPS - 1],
        }
    }

    /// Filters `input` and appends the 24 kHz samples to `out` (half as many,
    /// an odd sample left over waits for the next call).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        self.buf.extend(input.iter().map(|&s| s as f32));
        let span = HALF_BAND_TAPS - 1;
        let mut newest = span + 1;
        // Output m uses buf[newest - 62 ..= newest]; newest advances by 2.
        while newest < self.buf.len() {
            let window = &self.buf[newest - span..=newest];
            let mut acc = 0.5 * window[span - CENTRE];
            for (j, h) in self.taps.iter().enumerate() {
                acc += h * window[span - 2 * j];
            }
            out.push(to_i16(acc));
            newest += 2;
        }
        let consumed = newest - 1 - span;
        self.buf.drain(..consumed);
    }
}

/// 24 kHz -> 48 kHz, streaming.
#[derive(Debug, Clone)]
pub struct Upsampler {
    taps: Vec<f32>,
    /// The last 31 input samples, then the new ones.
    buf: Vec<f32>,
}

impl Default for Upsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Upsampler {
    /// An upsampler with silent history.
    pub fn new() -> Self {
        let taps = even_taps();
        let history = taps.len() - 1;
        Upsampler {
            taps,
            buf: vec![0.0; history],
        }
    }

    /// Filters `input` and appends exactly twice as many 48 kHz samples to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let history = self.taps.len() - 1;
        self.buf.extend(input.iter().map(|&s| s as f32));
        out.reserve(input.len() * 2);
        for m in history..self.buf.len() {
            // Zero-stuffing halves the energy; the gain of 2 restores it.
            let mut even = 0.0;
            for (j, h) in self.taps.iter().enumerate() {
                even += h * self.buf[m - j];
            }
            out.push(to_i16(2.0 * even));
            // The odd phase is the centre tap alone: a delayed copy.
            out.push(to_i16(self.buf[m - CENTRE / 2]));
        }
        self.buf.drain(..self.buf.len() - history);
    }
}

/// Cuts a stream of samples into fixed-size frames.
#[derive(Debug, Clone)]
pub struct Framer {
    frame_len: usize,
    pending: Vec<i16>,
}

impl Framer {
    /// Frames of `frame_len` samples.
    pub fn new(frame_len: usize) -> Self {
        assert!(frame_len > 0, "frame length must be positive");
        Framer {
            frame_len,
            pending: Vec::with_capacity(frame_len * 2),
        }
    }

    /// Adds samples; calls `emit` for each complete frame.
    pub fn push(&mut self, samples: &[i16], mut emit: impl FnMut(&[i16])) {
        let mut rest = samples;
        if !self.pending.is_empty() {
            let need = self.frame_len - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < self.frame_len {
                return;
            }
            emit(&self.pending);
            self.pending.clear();
        }
        let mut chunks = rest.chunks_exact(self.frame_len);
        for frame in &mut chunks {
            emit(frame);
        }
        self.pending.extend_from_slice(chunks.remainder());
    }

    /// Samples waiting for a full frame.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The partial frame padded with silence, if any.
    pub fn flush(&mut self) -> Option<Vec<i16>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut frame = std::mem::take(&mut self.pending);
        frame.resize(self.frame_len, 0);
        Some(frame)
    }
}

/// PCM16 samples as little-endian bytes (the wire format everywhere).
pub fn pcm16_to_le_bytes(pcm: &[i16], out: &mut Vec<u8>) {
    out.reserve(pcm.len() * 2);
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// Little-endian bytes as PCM16 samples; a trailing odd byte is an error.
pub fn le_bytes_to_pcm16(bytes: &[u8]) -> Result<Vec<i16>, OddByteCount> {
    if !bytes.len().is_multiple_of(2) {
        return Err(OddByteCount(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// Base64 of PCM16 little-endian, as `input_audio_buffer.append` wants.
pub fn pcm16_to_base64(pcm: &[i16]) -> String {
    let mut bytes = Vec::with_capacity(pcm.len() * 2);
    pcm16_to_le_bytes(pcm, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a `response.output_audio.delta` payload.
pub fn base64_to_pcm16(b64: &str) -> Result<Vec<i16>, AudioDecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| AudioDecodeError::Base64(e.to_string()))?;
    le_bytes_to_pcm16(&bytes).map_err(AudioDecodeError::Odd)
}

/// PCM16 bytes must come in pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "audio_odd_length: PCM16 audio has an odd number of bytes ({0}); send whole 16-bit samples"
)]
pub struct OddByteCount(pub usize);

/// A Realtime audio payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioDecodeError {
    /// Not base64.
    #[error("audio_bad_base64: audio payload is not base64 ({0})")]
    Base64(String),
    /// Odd byte count.
    #[error(transparent)]
    Odd(OddByteCount),
}

/// A sine tone, for tests, benchmarks and the fake Realtime server.
pub fn tone(rate_hz: u32, freq_hz: f64, amplitude: f64, samples: usize, start: usize) -> Vec<i16> {
    (start..start + samples)
        .map(|n| {
            let t = n as f64 / rate_hz as f64;
            (amplitude * (2.0 * std::f64::consts::PI * freq_hz * t).sin()).round() as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Power of `freq` in `x` (Goertzel), normalised to a full-scale sine = 1.
    fn power_at(x: &[i16], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / rate as f64;
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = v as f64 / 32768.0 + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        p * 4.0 / (x.len() as f64 * x.len() as f64)
    }

    fn db(ratio: f64) -> f64 {
        10.0 * ratio.log10()
    }

    fn down_all(input: &[i16], frame: usize) -> Vec<i16> {
        let mut d = Downsampler::new();
        let mut out = Vec::new();
        for chunk in input.chunks(frame) {
            d.process(chunk, &mut out);
        }
        out
    }

    fn up_all(input: &[i16], frame: usize) -> Vec<i16> {
        let mut u = Upsampler::new();
        let mut out = Vec::new();
        for chunk in input.chunks(frame) {
            u.process(chunk, &mut out);
        }
        out
    }

    #[test]
    fn lengths_are_exact_per_frame() {
        let mut d = Downsampler::new();
        let mut u = Upsampler::new();
        for i in 0..50 {
            let frame = tone(RATE_48K_HZ, 440.0, 8000.0, SAMPLES_PER_FRAME_48K, i * 960);
            let mut out = Vec::new();
            d.process(&frame, &mut out);
            assert_eq!(out.len(), SAMPLES_PER_FRAME_24K);
            let mut back = Vec::new();
            u.process(&out, &mut back);
            assert_eq!(back.len(), SAMPLES_PER_FRAME_48K);
        }
        // Odd-length input: the spare sample is used by the next call.
        let mut out = Vec::new();
        d.process(&[1, 2, 3], &mut out);
        d.process(&[4], &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn frequency_is_preserved_both_ways() {
        let input = tone(RATE_48K_HZ, 1000.0, 16000.0, 48_000, 0);
        let down = down_all(&input, SAMPLES_PER_FRAME_48K);
        // Skip the filter's start-up.
        let steady = &down[1000..];
        let p_in = power_at(&input[2000..], RATE_48K_HZ, 1000.0);
        let p = power_at(steady, RATE_24K_HZ, 1000.0);
        assert!(
            db(p / p_in).abs() < 0.1,
            "1 kHz changed by {} dB",
            db(p / p_in)
        );
        assert!(db(power_at(steady, RATE_24K_HZ, 1500.0) / p) < -40.0);

        let input = tone(RATE_24K_HZ, 1000.0, 16000.0, 24_000, 0);
        let up = up_all(&input, SAMPLES_PER_FRAME_24K);
        let p_in = power_at(&input[1000..], RATE_24K_HZ, 1000.0);
        let p = power_at(&up[2000..], RATE_48K_HZ, 1000.0);
        assert!(
            db(p / p_in).abs() < 0.1,
            "1 kHz changed by {} dB",
            db(p / p_in)
        );
    }

    #[test]
    fn aliasing_and_images_are_attenuated() {
        // 15 kHz at 48 kHz would alias to 9 kHz at 24 kHz.
        let input = tone(RATE_48K_HZ, 15_000.0, 16000.0, 48_000, 0);
        let down = down_all(&input, SAMPLES_PER_FRAME_48K);
        let p_in = power_at(&input, RATE_48K_HZ, 15_000.0);
        let alias = power_at(&down[1000..], RATE_24K_HZ, 9_000.0);
        assert!(db(alias / p_in) < -60.0, "alias at {} dB", db(alias / p_in));

        // 3 kHz at 24 kHz has an image at 21 kHz after zero-stuffing.
        let input = tone(RATE_24K_HZ, 3_000.0, 16000.0, 24_000, 0);
        let up = up_all(&input, SAMPLES_PER_FRAME_24K);
        let p = power_at(&up[2000..], RATE_48K_HZ, 3_000.0);
        let image = power_at(&up[2000..], RATE_48K_HZ, 21_000.0);
        assert!(db(image / p) < -60.0, "image at {} dB", db(image / p));
    }

    #[test]
    fn frame_by_frame_equals_one_piece_so_joins_do_not_click() {
        let input = tone(RATE_48K_HZ, 697.0, 20000.0, 9_600, 0);
        assert_eq!(down_all(&input, input.len()), down_all(&input, 960));
        assert_eq!(down_all(&input, 960), down_all(&input, 37));
        let input = tone(RATE_24K_HZ, 697.0, 20000.0, 4_800, 0);
        let up = up_all(&input, 480);
        assert_eq!(up_all(&input, input.len()), up);
        // A smooth tone stays smooth: no step bigger than the tone's slope.
        let max_step = up[100..]
            .windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap();
        let slope = 20000.0 * 2.0 * std::f64::consts::PI * 697.0 / 48_000.0;
        assert!((max_step as f64) < slope * 1.05 + 2.0, "step {max_step}");
    }

    #[test]
    fn framer_emits_exact_frames() {
        let mut f = Framer::new(480);
        let mut frames = Vec::new();
        for len in [100, 300, 700, 900, 1] {
            f.push(&vec![1; len], |fr| frames.push(fr.len()));
        }
        assert_eq!(frames, vec![480; 4]);
        assert_eq!(f.pending(), 2001 - 4 * 480);
        assert_eq!(f.flush().unwrap().len(), 480);
    }

    #[test]
    fn codecs_round_trip_and_reject_odd_bytes() {
        let pcm = vec![0, 1, -1, i16::MAX, i16::MIN];
        assert_eq!(base64_to_pcm16(&pcm16_to_base64(&pcm)).unwrap(), pcm);
        assert_eq!(le_bytes_to_pcm16(&[1, 2, 3]), Err(OddByteCount(3)));
        assert!(base64_to_pcm16("!!").is_err());
    }
}
