//! The fake tutor's voice, and time stamps carried inside audio frames.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Samples per 20 ms frame at 24 kHz.
pub const FRAME_SAMPLES: usize = 480;
const RATE_HZ: f64 = 24_000.0;

/// Frames in one period of [`voice_frame`]: 0.5 s holds whole cycles of the
/// 4 Hz envelope and of both partials, so the signal repeats seamlessly.
const VOICE_PERIOD_FRAMES: usize = 25;

/// A speech-like signal: two partials with a 4 Hz syllable envelope, so
/// resamplers and level meters see something other than silence. Computed
/// once per period: hundreds of simulated lessons share it.
pub fn voice_frame(frame_index: u64) -> Vec<i16> {
    voice_frame_head(frame_index).to_vec()
}

/// [`voice_frame`] as the base64 of its PCM16 little-endian bytes, as an
/// audio delta carries it; with `stamped`, the stamp of [`stamp`] written in.
///
/// Only the first [`STAMP_B64_CHARS`] characters hold the stamp, so the
/// rest comes from a copy encoded once per period: the fake serves hundreds
/// of simulated lessons at 50 frames a second each.
pub fn voice_frame_base64(frame_index: u64, stamped: bool, out: &mut String) {
    use base64::Engine as _;
    static PERIOD: OnceLock<Vec<String>> = OnceLock::new();
    let period = PERIOD.get_or_init(|| {
        (0..VOICE_PERIOD_FRAMES)
            .map(|i| {
                let bytes: Vec<u8> = compute_voice_frame(i)
                    .iter()
                    .flat_map(|s| s.to_le_bytes())
                    .collect();
                base64::engine::general_purpose::STANDARD.encode(bytes)
            })
            .collect()
    });
    let cached = &period[frame_index as usize % VOICE_PERIOD_FRAMES];
    if !stamped {
        out.push_str(cached);
        return;
    }
    let mut head = [0i16; STAMP_B64_CHARS / 4 * 3 / 2];
    let voice = voice_frame_head(frame_index);
    let n = head.len();
    head.copy_from_slice(&voice[..n]);
    stamp(&mut head);
    let mut bytes = [0u8; STAMP_B64_CHARS / 4 * 3];
    for (b, s) in bytes.chunks_exact_mut(2).zip(head) {
        b.copy_from_slice(&s.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
    out.push_str(&cached[STAMP_B64_CHARS..]);
}

/// Base64 characters that cover a stamp: 12 bytes (6 samples), the first
/// whole 3-byte groups holding the 10 bytes of the stamp.
pub const STAMP_B64_CHARS: usize = 16;

fn voice_frame_head(frame_index: u64) -> &'static [i16] {
    static PERIOD: OnceLock<Vec<Vec<i16>>> = OnceLock::new();
    let period = PERIOD.get_or_init(|| (0..VOICE_PERIOD_FRAMES).map(compute_voice_frame).collect());
    &period[frame_index as usize % VOICE_PERIOD_FRAMES]
}

/// The stamp of a frame given the base64 of its first bytes (at least
/// [`STAMP_B64_CHARS`] characters), read without allocating.
pub fn read_stamp_base64(b64: &str) -> Option<u64> {
    use base64::Engine as _;
    let head = b64.get(..STAMP_B64_CHARS)?;
    let mut bytes = [0u8; STAMP_B64_CHARS / 4 * 3];
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(head, &mut bytes)
        .ok()?;
    let mut pcm = [0i16; 5];
    for (s, b) in pcm.iter_mut().zip(bytes[..n].chunks_exact(2)) {
        *s = i16::from_le_bytes([b[0], b[1]]);
    }
    read_stamp(&pcm)
}

fn compute_voice_frame(frame_index: usize) -> Vec<i16> {
    let start = frame_index * FRAME_SAMPLES;
    (start..start + FRAME_SAMPLES)
        .map(|n| {
            let t = n as f64 / RATE_HZ;
            let envelope = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            let s = (2.0 * std::f64::consts::PI * 220.0 * t).sin() * 0.7
                + (2.0 * std::f64::consts::PI * 660.0 * t).sin() * 0.3;
            (s * envelope * 9_000.0).round() as i16
        })
        .collect()
}

/// Nanoseconds on the system-wide clock, so stamps written in one process
/// can be read in another (a benchmark's peer process and the server under
/// test). Wall-clock time: over the seconds a benchmark runs, adjustments
/// are far below the microseconds measured.
pub fn clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Marks a stamped frame: unlikely in a real signal.
const STAMP_MAGIC: i16 = 0x5A5A;

/// Writes `clock_ns()` into the first five samples of a frame.
pub fn stamp(frame: &mut [i16]) {
    let ns = clock_ns();
    frame[0] = STAMP_MAGIC;
    for i in 0..4 {
        frame[1 + i] = ((ns >> (16 * i)) & 0xFFFF) as u16 as i16;
    }
}

/// The time stamp of a stamped frame.
pub fn read_stamp(frame: &[i16]) -> Option<u64> {
    if frame.len() < 5 || frame[0] != STAMP_MAGIC {
        return None;
    }
    Some((0..4).fold(0u64, |acc, i| {
        acc | ((frame[1 + i] as u16 as u64) << (16 * i))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_voice_is_not_silence() {
        assert_eq!(voice_frame(27), compute_voice_frame(27));
        let mut f = voice_frame(3);
        assert!(f.iter().map(|s| (*s as i64).abs()).max().unwrap() > 1000);
        assert_eq!(read_stamp(&f), None);
        stamp(&mut f);
        let t = read_stamp(&f).unwrap();
        assert!(t <= clock_ns());
    }

    #[test]
    fn base64_frames_match_the_samples_and_carry_their_stamp() {
        use base64::Engine as _;
        let decode = |b64: &str| -> Vec<i16> {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect()
        };
        for i in [0, 7, 24, 25, 1_000_003] {
            let mut plain = String::new();
            voice_frame_base64(i, false, &mut plain);
            assert_eq!(decode(&plain), voice_frame(i));
            assert_eq!(read_stamp_base64(&plain), None);
            let before = clock_ns();
            let mut stamped = String::from("prefix");
            voice_frame_base64(i, true, &mut stamped);
            let stamped = &stamped["prefix".len()..];
            let pcm = decode(stamped);
            assert_eq!(pcm[5..], voice_frame(i)[5..], "only the stamp differs");
            let t = read_stamp_base64(stamped).unwrap();
            assert_eq!(Some(t), read_stamp(&pcm));
            assert!(before <= t && t <= clock_ns());
        }
        assert_eq!(read_stamp_base64("WlpaWl"), None, "too short");
    }
}
