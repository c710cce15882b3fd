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

/// Non-zero taps of the half-band filter besides the centre: the even ones.
const EVEN_TAPS: usize = HALF_BAND_TAPS.div_ceil(2);
/// The even taps are symmetric; each multiply serves the pair `j`, `31 - j`.
const TAP_PAIRS: usize = EVEN_TAPS / 2;
/// Outputs computed together: their accumulators stay in SIMD registers
/// while the taps stream past (four 4-lane vectors on baseline x86-64).
const BLOCK: usize = 16;

/// The first half of the symmetric non-zero even taps of the half-band
/// low-pass (cut-off at a quarter of the higher rate), normalised for unity
/// DC gain; the centre tap is 0.5. Computed once per process.
fn tap_pairs() -> &'static [f32; TAP_PAIRS] {
    static TAPS: std::sync::OnceLock<[f32; TAP_PAIRS]> = std::sync::OnceLock::new();
    TAPS.get_or_init(|| {
        let even = even_taps();
        let mut pairs = [0.0; TAP_PAIRS];
        pairs.copy_from_slice(&even[..TAP_PAIRS]);
        pairs
    })
}

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

/// Adds to `acc[k]` the symmetric FIR `sum_j h[j] * x[31 - j + k]` over the
/// 32 even taps, for `k < acc.len()`; `x` holds `acc.len() + 31` samples.
///
/// Whole blocks of outputs keep their accumulators in registers while the
/// taps stream past: the fixed-size inner loops vectorise on any target.
/// Every output sees the same operations in the same order whether it falls
/// in a block or the tail, so results do not depend on how the stream was
/// cut into calls.
fn fir_even(taps: &[f32; TAP_PAIRS], x: &[f32], acc: &mut [f32]) {
    let span = EVEN_TAPS - 1;
    debug_assert!(x.len() >= acc.len() + span);
    let mut blocks = acc.chunks_exact_mut(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        let block: &mut [f32; BLOCK] = block.try_into().expect("exact chunk");
        let mut sum = *block;
        for (j, &h) in taps.iter().enumerate() {
            let late: &[f32; BLOCK] = x[base + span - j..][..BLOCK].try_into().expect("len");
            let early: &[f32; BLOCK] = x[base + j..][..BLOCK].try_into().expect("len");
            for k in 0..BLOCK {
                sum[k] += h * (late[k] + early[k]);
            }
        }
        *block = sum;
        base += BLOCK;
    }
    for (k, out) in blocks.into_remainder().iter_mut().enumerate() {
        let m = base + k;
        let mut sum = *out;
        for (j, &h) in taps.iter().enumerate() {
            sum += h * (x[m + span - j] + x[m + j]);
        }
        *out = sum;
    }
}

/// Rounds to the nearest integer (ties to even) and saturates. Adding
/// 1.5 * 2^23 leaves the rounded value in the low bits of the mantissa: plain
/// float and integer arithmetic that vectorises, where `f32::round` is a
/// library call per sample on baseline x86-64.
fn to_i16(x: f32) -> i16 {
    const ROUND: f32 = 12_582_912.0;
    let shifted = x.clamp(i16::MIN as f32, i16::MAX as f32) + ROUND;
    (shifted.to_bits() as i32 - ROUND.to_bits() as i32) as i16
}

/// 48 kHz -> 24 kHz, streaming.
///
/// The input is kept split into its two phases: output `m` is the centre
/// tap (0.5) on `centre[m + 16]` plus the 32 even taps over `taps[m ..= m + 31]`.
#[derive(Debug, Clone)]
pub struct Downsampler {
    /// Odd input samples: the 31 of context, then the new ones.
    taps: Vec<f32>,
    /// Even input samples, aligned with `taps`.
    centre: Vec<f32>,
    /// An input sample whose pair has not come yet.
    spare: Option<i16>,
    acc: Vec<f32>,
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
            taps: vec![0.0; EVEN_TAPS - 1],
            centre: vec![0.0; EVEN_TAPS - 1],
            spare: None,
            acc: Vec::new(),
        }
    }

    /// Filters `input` and appends the 24 kHz samples to `out` (half as many,
    /// an odd sample left over waits for the next call).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let mut rest = input;
        if let Some(first) = self.spare.take() {
            let Some((&second, tail)) = rest.split_first() else {
                self.spare = Some(first);
                return;
            };
            self.centre.push(first as f32);
            self.taps.push(second as f32);
            rest = tail;
        }
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            self.centre.push(pair[0] as f32);
            self.taps.push(pair[1] as f32);
        }
        self.spare = pairs.remainder().first().copied();
        let outputs = self.taps.len() - (EVEN_TAPS - 1);
        let half_delay = EVEN_TAPS / 2;
        self.acc.clear();
        self.acc.extend(
            self.centre[half_delay..half_delay + outputs]
                .iter()
                .map(|&s| 0.5 * s),
        );
        fir_even(tap_pairs(), &self.taps, &mut self.acc);
        out.extend(self.acc.iter().map(|&y| to_i16(y)));
        self.taps.drain(..outputs);
        self.centre.drain(..outputs);
    }
}

/// 24 kHz -> 48 kHz, streaming.
#[derive(Debug, Clone)]
pub struct Upsampler {
    /// The last 31 input samples, then the new ones.
    buf: Vec<f32>,
    acc: Vec<f32>,
}

impl Default for Upsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Upsampler {
    /// An upsampler with silent history.
    pub fn new() -> Self {
        Upsampler {
            buf: vec![0.0; EVEN_TAPS - 1],
            acc: Vec::new(),
        }
    }

    /// Filters `input` and appends exactly twice as many 48 kHz samples to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let history = EVEN_TAPS - 1;
        self.buf.extend(input.iter().map(|&s| s as f32));
        self.acc.clear();
        self.acc.resize(input.len(), 0.0);
        fir_even(tap_pairs(), &self.buf, &mut self.acc);
        // Zero-stuffing halves the energy; the gain of 2 restores it. The
        // odd phase is the centre tap alone: a delayed copy.
        let delayed = &self.buf[history - CENTRE / 2..][..input.len()];
        let start = out.len();
        out.resize(start + 2 * input.len(), 0);
        for ((pair, &even), &odd) in out[start..].chunks_exact_mut(2).zip(&self.acc).zip(delayed) {
            pair[0] = to_i16(2.0 * even);
            pair[1] = to_i16(odd);
        }
        self.buf.drain(..input.len());
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

/// Bytes converted at a time on the stack by the base64 helpers: a multiple
/// of 3 (whole base64 groups) holding a 20 ms frame at 24 kHz.
const B64_CHUNK_BYTES: usize = 960;

/// Base64 of PCM16 little-endian, as `input_audio_buffer.append` wants.
pub fn pcm16_to_base64(pcm: &[i16]) -> String {
    let mut text = String::with_capacity((pcm.len() * 2).div_ceil(3) * 4);
    pcm16_append_base64(pcm, &mut text);
    text
}

/// Appends the base64 of `pcm` as PCM16 little-endian to `out`, with no
/// allocation beyond `out`'s growth.
pub fn pcm16_append_base64(pcm: &[i16], out: &mut String) {
    // Chunks of a multiple of 3 bytes keep the base64 of the pieces equal
    // to that of the whole.
    let mut buf = [0u8; B64_CHUNK_BYTES];
    for chunk in pcm.chunks(B64_CHUNK_BYTES / 2) {
        let bytes = &mut buf[..chunk.len() * 2];
        for (b, s) in bytes.chunks_exact_mut(2).zip(chunk) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        base64::engine::general_purpose::STANDARD.encode_string(&*bytes, out);
    }
}

/// Decodes a `response.output_audio.delta` payload.
pub fn base64_to_pcm16(b64: &str) -> Result<Vec<i16>, AudioDecodeError> {
    let mut pcm = Vec::with_capacity(b64.len() * 3 / 8);
    base64_to_pcm16_into(b64, &mut pcm)?;
    Ok(pcm)
}

/// Decodes base64 PCM16 little-endian, appending the samples to `out`; on
/// error `out` is left as it was.
pub fn base64_to_pcm16_into(b64: &str, out: &mut Vec<i16>) -> Result<(), AudioDecodeError> {
    let start = out.len();
    let mut buf = [0u8; B64_CHUNK_BYTES];
    // Whole 4-character groups per chunk; only the last may carry padding.
    let mut decoded_bytes = 0;
    for chunk in b64.as_bytes().chunks(B64_CHUNK_BYTES / 3 * 4) {
        let n = match base64::engine::general_purpose::STANDARD.decode_slice(chunk, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                out.truncate(start);
                return Err(AudioDecodeError::Base64(e.to_string()));
            }
        };
        decoded_bytes += n;
        out.extend(
            buf[..n]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        if n % 2 == 1 {
            out.truncate(start);
            return Err(AudioDecodeError::Odd(OddByteCount(decoded_bytes)));
        }
    }
    Ok(())
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
        // Longer than one chunk, and appended after what `out` holds.
        let long = tone(RATE_24K_HZ, 440.0, 9000.0, 1_333, 0);
        let b64 = pcm16_to_base64(&long);
        let mut bytes = Vec::new();
        pcm16_to_le_bytes(&long, &mut bytes);
        assert_eq!(
            b64,
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
        let mut out = vec![7];
        base64_to_pcm16_into(&b64, &mut out).unwrap();
        assert_eq!(out[0], 7);
        assert_eq!(out[1..], long[..]);
        let mut out = vec![7];
        let corrupt = format!("{}!{}", &b64[..1500], &b64[1501..]);
        assert!(base64_to_pcm16_into(&corrupt, &mut out).is_err());
        assert_eq!(out, vec![7], "unchanged on error");
    }
}
