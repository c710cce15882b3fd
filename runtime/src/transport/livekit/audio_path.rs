//! Audio between the room (48 kHz, 10 ms frames) and the lesson (24 kHz,
//! 20 ms frames), and what the learner has heard of the tutor.
//!
//! WebRTC audio sources take 10 ms frames; the Realtime API and the session
//! work in 20 ms frames at 24 kHz. The resampling filters keep their history
//! across frames (see [`crate::audio`]), so the joins are seamless.

use std::time::{Duration, Instant};

use crate::audio::{
    Downsampler, Framer, HALF_BAND_TAPS, RATE_24K_HZ, RATE_48K_HZ, SAMPLES_PER_FRAME_24K, Upsampler,
};

/// Samples in a 10 ms frame at 48 kHz: what a WebRTC audio source takes.
pub const SAMPLES_PER_10MS_48K: usize = (RATE_48K_HZ / 100) as usize;

/// Learner audio in a format the chain cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "livekit_audio_format: learner audio at {rate_hz} Hz with {channels} channel(s) is not supported; expected 48 kHz or 24 kHz"
)]
pub struct UnsupportedFormat {
    /// Sample rate received.
    pub rate_hz: u32,
    /// Channels received.
    pub channels: u32,
}

/// Learner microphone frames (48 kHz, any frame size) -> 20 ms frames at 24 kHz.
#[derive(Debug, Clone)]
pub struct MicChain {
    down: Downsampler,
    framer: Framer,
    mono: Vec<i16>,
    resampled: Vec<i16>,
}

impl Default for MicChain {
    fn default() -> Self {
        Self::new()
    }
}

impl MicChain {
    /// A chain with silent history.
    pub fn new() -> Self {
        MicChain {
            down: Downsampler::new(),
            framer: Framer::new(SAMPLES_PER_FRAME_24K),
            mono: Vec::new(),
            resampled: Vec::new(),
        }
    }

    /// Takes one frame of interleaved PCM16 at `rate_hz` and calls `emit` for
    /// each complete 20 ms frame at 24 kHz. Several channels are mixed down.
    pub fn push(
        &mut self,
        rate_hz: u32,
        channels: u32,
        pcm: &[i16],
        mut emit: impl FnMut(&[i16]),
    ) -> Result<(), UnsupportedFormat> {
        let bad = UnsupportedFormat { rate_hz, channels };
        if channels == 0 || (rate_hz != RATE_48K_HZ && rate_hz != RATE_24K_HZ) {
            return Err(bad);
        }
        let mono: &[i16] = if channels == 1 {
            pcm
        } else {
            self.mono.clear();
            let n = channels as usize;
            self.mono.extend(
                pcm.chunks_exact(n)
                    .map(|c| (c.iter().map(|&s| s as i32).sum::<i32>() / n as i32) as i16),
            );
            &self.mono
        };
        if rate_hz == RATE_24K_HZ {
            self.framer.push(mono, &mut emit);
        } else {
            self.resampled.clear();
            self.down.process(mono, &mut self.resampled);
            self.framer.push(&self.resampled, &mut emit);
        }
        Ok(())
    }
}

/// Tutor audio (24 kHz, any chunk size) -> 10 ms frames at 48 kHz.
#[derive(Debug, Clone)]
pub struct PlayoutChain {
    up: Upsampler,
    framer: Framer,
    resampled: Vec<i16>,
}

impl Default for PlayoutChain {
    fn default() -> Self {
        Self::new()
    }
}

impl PlayoutChain {
    /// A chain with silent history.
    pub fn new() -> Self {
        PlayoutChain {
            up: Upsampler::new(),
            framer: Framer::new(SAMPLES_PER_10MS_48K),
            resampled: Vec::new(),
        }
    }

    /// Takes 24 kHz audio; calls `emit` for each complete 10 ms 48 kHz frame.
    pub fn push(&mut self, pcm_24k: &[i16], emit: impl FnMut(&[i16])) {
        self.resampled.clear();
        self.up.process(pcm_24k, &mut self.resampled);
        self.framer.push(&self.resampled, emit);
    }

    /// The utterance is over: lets the filter's tail out and pads the last
    /// frame with silence, so its final syllable is not held back.
    pub fn finish(&mut self, mut emit: impl FnMut(&[i16])) {
        // The filter delays by half its length; that many silent input
        // samples push the utterance's last samples out.
        self.push(&[0; HALF_BAND_TAPS / 4 + 1], &mut emit);
        if let Some(last) = self.framer.flush() {
            emit(&last);
        }
        self.reset();
    }

    /// Drops everything pending (the learner interrupted).
    pub fn reset(&mut self) {
        self.up = Upsampler::new();
        self.framer = Framer::new(SAMPLES_PER_10MS_48K);
    }
}

/// Estimates how much of the current item the learner has heard.
///
/// The audio source buffers what is captured and releases it in real time,
/// so what has been heard is what was captured minus what is still queued;
/// the queue drains at one second per second since the last capture.
/// (Network and the learner's jitter buffer add a little on top, which the
/// tutor cannot see.)
#[derive(Debug, Clone, Default)]
pub struct PlayoutClock {
    item: Option<String>,
    captured: Duration,
    queued: Duration,
    last_capture: Option<Instant>,
}

impl PlayoutClock {
    /// A clock with nothing played.
    pub fn new() -> Self {
        Self::default()
    }

    fn queued_at(&self, now: Instant) -> Duration {
        match self.last_capture {
            Some(last) => self
                .queued
                .saturating_sub(now.saturating_duration_since(last)),
            None => Duration::ZERO,
        }
    }

    /// `samples_48k` samples of `item_id` entered the source's queue at `now`.
    pub fn on_capture(&mut self, item_id: &str, samples_48k: usize, now: Instant) {
        if self.item.as_deref() != Some(item_id) {
            self.item = Some(item_id.to_string());
            self.captured = Duration::ZERO;
        }
        let span = samples_duration(samples_48k);
        self.queued = self.queued_at(now) + span;
        self.last_capture = Some(now);
        self.captured += span;
    }

    /// The source's queue was dropped at `now` (interruption).
    pub fn on_clear(&mut self, now: Instant) {
        // What was still queued was never heard.
        let unheard = self.queued_at(now);
        self.captured = self.captured.saturating_sub(unheard);
        self.queued = Duration::ZERO;
        self.last_capture = Some(now);
    }

    /// Milliseconds of `item_id` heard by `now`; `None` if it is not the
    /// item being played.
    pub fn played_ms(&self, item_id: &str, now: Instant) -> Option<u32> {
        if self.item.as_deref() != Some(item_id) {
            return None;
        }
        let heard = self.captured.saturating_sub(self.queued_at(now));
        Some(heard.as_millis().min(u32::MAX as u128) as u32)
    }

    /// Milliseconds of `item_id` captured so far (the most that can have
    /// been heard).
    pub fn captured_ms(&self, item_id: &str) -> Option<u32> {
        (self.item.as_deref() == Some(item_id))
            .then(|| self.captured.as_millis().min(u32::MAX as u128) as u32)
    }
}

fn samples_duration(samples_48k: usize) -> Duration {
    Duration::from_micros(samples_48k as u64 * 1_000_000 / RATE_48K_HZ as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{SAMPLES_PER_FRAME_48K, tone};

    #[test]
    fn mic_chain_turns_48k_10ms_frames_into_24k_20ms_frames() {
        let mut chain = MicChain::new();
        let mut frames = Vec::new();
        for i in 0..10 {
            let frame = tone(RATE_48K_HZ, 440.0, 8000.0, 480, i * 480);
            chain
                .push(RATE_48K_HZ, 1, &frame, |f| frames.push(f.to_vec()))
                .unwrap();
        }
        // 100 ms at 48 kHz is five 20 ms frames at 24 kHz.
        assert_eq!(frames.len(), 5);
        assert!(frames.iter().all(|f| f.len() == SAMPLES_PER_FRAME_24K));
        // Same as downsampling in one piece.
        let whole = tone(RATE_48K_HZ, 440.0, 8000.0, 4800, 0);
        let mut expect = Vec::new();
        Downsampler::new().process(&whole, &mut expect);
        assert_eq!(frames.concat(), expect);
    }

    #[test]
    fn mic_chain_mixes_stereo_passes_24k_and_refuses_other_rates() {
        let mut chain = MicChain::new();
        let mut frames = Vec::new();
        let stereo: Vec<i16> = (0..480).flat_map(|_| [100, 300]).collect();
        chain
            .push(RATE_24K_HZ, 2, &stereo, |f| frames.push(f.to_vec()))
            .unwrap();
        assert_eq!(frames, vec![vec![200; SAMPLES_PER_FRAME_24K]]);
        assert_eq!(
            chain.push(16_000, 1, &[0; 160], |_| {}),
            Err(UnsupportedFormat {
                rate_hz: 16_000,
                channels: 1
            })
        );
        assert!(chain.push(RATE_48K_HZ, 0, &[], |_| {}).is_err());
    }

    #[test]
    fn playout_chain_emits_10ms_48k_frames_and_flushes_the_tail() {
        let mut chain = PlayoutChain::new();
        let mut frames = Vec::new();
        // 20 ms of 24 kHz in odd chunks.
        let pcm = tone(RATE_24K_HZ, 300.0, 10_000.0, SAMPLES_PER_FRAME_24K, 0);
        for chunk in pcm.chunks(77) {
            chain.push(chunk, |f| frames.push(f.to_vec()));
        }
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.len() == SAMPLES_PER_10MS_48K));
        let mut expect = Vec::new();
        Upsampler::new().process(&pcm, &mut expect);
        assert_eq!(frames.concat(), expect[..SAMPLES_PER_FRAME_48K]);
        // A partial last chunk comes out whole, padded.
        chain.push(&pcm[..100], |f| frames.push(f.to_vec()));
        assert_eq!(frames.len(), 2);
        chain.finish(|f| frames.push(f.to_vec()));
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].len(), SAMPLES_PER_10MS_48K);
        assert!(frames[2].iter().any(|&s| s != 0));
    }

    #[test]
    fn playout_chain_reset_drops_pending_audio() {
        let mut chain = PlayoutChain::new();
        let mut frames = Vec::new();
        chain.push(&[1000; 100], |f| frames.push(f.to_vec()));
        chain.reset();
        chain.push(&[0; 240], |f| frames.push(f.to_vec()));
        assert_eq!(frames, vec![vec![0; SAMPLES_PER_10MS_48K]]);
    }

    #[test]
    fn clock_heard_is_captured_minus_queued() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut clock = PlayoutClock::new();
        // A burst of 200 ms captured at once: nothing heard yet.
        for _ in 0..20 {
            clock.on_capture("a", SAMPLES_PER_10MS_48K, t0);
        }
        assert_eq!(clock.played_ms("a", t0), Some(0));
        assert_eq!(clock.captured_ms("a"), Some(200));
        assert_eq!(clock.played_ms("a", t0 + ms(50)), Some(50));
        // Steady 10 ms captures every 10 ms keep 150 ms queued.
        for i in 1..=10 {
            clock.on_capture("a", SAMPLES_PER_10MS_48K, t0 + ms(50 + i * 10));
        }
        assert_eq!(clock.played_ms("a", t0 + ms(150)), Some(150));
        // Queue drained: all heard, never more than captured.
        assert_eq!(clock.played_ms("a", t0 + ms(10_000)), Some(300));
        assert_eq!(clock.played_ms("other", t0), None);
    }

    #[test]
    fn clock_clear_keeps_only_what_was_heard() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut clock = PlayoutClock::new();
        for _ in 0..30 {
            clock.on_capture("a", SAMPLES_PER_10MS_48K, t0);
        }
        clock.on_clear(t0 + ms(120));
        assert_eq!(clock.played_ms("a", t0 + ms(120)), Some(120));
        assert_eq!(clock.played_ms("a", t0 + ms(5000)), Some(120));
    }

    #[test]
    fn clock_new_item_counts_from_zero_behind_the_previous_tail() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut clock = PlayoutClock::new();
        for _ in 0..10 {
            clock.on_capture("a", SAMPLES_PER_10MS_48K, t0);
        }
        // 100 ms of "a" queued; "b" starts behind it.
        clock.on_capture("b", SAMPLES_PER_10MS_48K * 5, t0 + ms(20));
        assert_eq!(clock.played_ms("a", t0 + ms(20)), None);
        assert_eq!(clock.played_ms("b", t0 + ms(60)), Some(0));
        // "a" drains until t0+100 ms; then "b" plays.
        assert_eq!(clock.played_ms("b", t0 + ms(110)), Some(10));
        assert_eq!(clock.played_ms("b", t0 + ms(500)), Some(50));
    }
}
