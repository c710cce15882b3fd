//! Where a stamped audio frame's time goes inside Lectern, for the lessons
//! benchmark: off unless `LECTERN_FRAME_TRACE` is set, and then one relaxed
//! atomic add per stage of a frame. Frames carry the sender's wall-clock
//! stamp (see the fake Realtime server's `signal` module) in their first
//! five samples; each stage records its delay from that stamp, and a
//! thread prints the percentiles once a second to stderr.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A stage of a frame's trip through Lectern.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    /// Learner frame read from the browser's socket.
    InRead = 0,
    /// Its `input_audio_buffer.append` handed to the Realtime socket.
    InWritten,
    /// Tutor audio delta read from the Realtime socket.
    OutRead,
    /// Its binary frame handed to the browser's socket.
    OutWritten,
}

const STAGES: usize = 4;
const NAMES: [&str; STAGES] = ["in  read", "in  written", "out read", "out written"];
/// Read to written, in µs buckets.
const INSIDE: usize = 2;
const INSIDE_NAMES: [&str; INSIDE] = ["in", "out"];
const INSIDE_BUCKETS: usize = 100_000;
/// 10 µs buckets up to 1 s.
const BUCKET_NS: u64 = 10_000;
const BUCKETS: usize = 100_000;

struct Histograms {
    buckets: Vec<AtomicU64>,
    inside: Vec<AtomicU64>,
}

fn histograms() -> Option<&'static Histograms> {
    static H: OnceLock<Option<Histograms>> = OnceLock::new();
    H.get_or_init(|| {
        std::env::var_os("LECTERN_FRAME_TRACE")?;
        let h = Histograms {
            buckets: (0..STAGES * BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            inside: (0..INSIDE * INSIDE_BUCKETS)
                .map(|_| AtomicU64::new(0))
                .collect(),
        };
        std::thread::spawn(report);
        Some(h)
    })
    .as_ref()
}

/// Now, on the stamps' clock.
pub(crate) fn clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The stamp of a frame given its PCM16 little-endian bytes.
pub(crate) fn stamp_le(bytes: &[u8]) -> Option<u64> {
    if bytes.len() < 10 || i16::from_le_bytes([bytes[0], bytes[1]]) != 0x5A5A {
        return None;
    }
    Some((0..4).fold(0u64, |acc, i| {
        acc | (u16::from_le_bytes([bytes[2 + 2 * i], bytes[3 + 2 * i]]) as u64) << (16 * i)
    }))
}

/// The stamp of a frame given the base64 of its bytes.
pub(crate) fn stamp_base64(b64: &str) -> Option<u64> {
    use base64::Engine as _;
    let head = b64.get(..16)?;
    let mut bytes = [0u8; 12];
    base64::engine::general_purpose::STANDARD
        .decode_slice(head, &mut bytes)
        .ok()?;
    stamp_le(&bytes)
}

/// Whether tracing is on.
pub(crate) fn on() -> bool {
    histograms().is_some()
}

/// Records how long a frame (`out`: tutor audio) took from its read to
/// its write, given the read's `clock_ns`.
pub(crate) fn record_inside(out: bool, read_ns: u64) {
    let Some(h) = histograms() else { return };
    let us = (clock_ns().saturating_sub(read_ns) / 1_000) as usize;
    h.inside[out as usize * INSIDE_BUCKETS + us.min(INSIDE_BUCKETS - 1)]
        .fetch_add(1, Ordering::Relaxed);
}

/// Records that a frame stamped `stamp` reached `stage` now.
pub(crate) fn record(stage: Stage, stamp: Option<u64>) {
    if stamp.is_some() {
        record_at(stage, stamp, clock_ns());
    }
}

/// Records that a frame stamped `stamp` reached `stage` at `at`.
pub(crate) fn record_at(stage: Stage, stamp: Option<u64>, at: u64) {
    let (Some(h), Some(stamp)) = (histograms(), stamp) else {
        return;
    };
    let d = at.saturating_sub(stamp);
    let b = ((d / BUCKET_NS) as usize).min(BUCKETS - 1);
    h.buckets[stage as usize * BUCKETS + b].fetch_add(1, Ordering::Relaxed);
}

fn report() {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(h) = histograms() else { return };
        let mut line = String::from("frame trace (ms since stamp, p50/p99/max n):");
        for (s, name) in NAMES.iter().enumerate() {
            let counts = &h.buckets[s * BUCKETS..(s + 1) * BUCKETS];
            if let Some((p50, p99, max, n)) = percentiles(counts) {
                let ms = |b: usize| (b as u64 * BUCKET_NS) as f64 / 1e6;
                line.push_str(&format!(
                    "  {name} {:.2}/{:.2}/{:.2} {n}",
                    ms(p50),
                    ms(p99),
                    ms(max)
                ));
            }
        }
        line.push_str(" | read to written (µs, p50/p99/max):");
        for (s, name) in INSIDE_NAMES.iter().enumerate() {
            let counts = &h.inside[s * INSIDE_BUCKETS..(s + 1) * INSIDE_BUCKETS];
            if let Some((p50, p99, max, _)) = percentiles(counts) {
                line.push_str(&format!("  {name} {p50}/{p99}/{max}"));
            }
        }
        line.push_str(&format!(
            " | queued in outboxes: {}",
            lectern_outbox::queued_total()
        ));
        eprintln!("{line}");
    }
}

/// Bucket indexes of the median, 99th percentile and maximum, and the
/// count; the buckets are emptied.
fn percentiles(buckets: &[AtomicU64]) -> Option<(usize, usize, usize, u64)> {
    let counts: Vec<u64> = buckets
        .iter()
        .map(|b| b.swap(0, Ordering::Relaxed))
        .collect();
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let at = |p: f64| {
        let want = ((n as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return i;
            }
        }
        counts.len() - 1
    };
    Some((at(0.5), at(0.99), at(1.0), n))
}
