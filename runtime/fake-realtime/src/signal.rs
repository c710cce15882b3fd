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
    static PERIOD: OnceLock<Vec<Vec<i16>>> = OnceLock::new();
    let period = PERIOD.get_or_init(|| (0..VOICE_PERIOD_FRAMES).map(compute_voice_frame).collect());
    period[frame_index as usize % VOICE_PERIOD_FRAMES].clone()
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
}
