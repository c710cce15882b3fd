//! Where and how to reach the Realtime API.

use super::protocol::{Eagerness, TurnDetection};

/// The public endpoint; tests and local development point at a fake instead.
pub const DEFAULT_REALTIME_URL: &str = "wss://api.openai.com/v1/realtime";
/// The GA speech-to-speech model.
pub const DEFAULT_MODEL: &str = "gpt-realtime";
/// A voice that reads well for teaching.
pub const DEFAULT_VOICE: &str = "marin";
/// Transcribes the learner's speech so it can be kept and replayed.
pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "gpt-4o-mini-transcribe";

/// Voice activity detection mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VadMode {
    /// Silence based, with the silence that ends a turn.
    Server {
        /// Silence that ends a turn, in ms.
        silence_duration_ms: u32,
    },
    /// Model based, with how eager the model is to answer.
    Semantic(Eagerness),
}

impl VadMode {
    /// The `turn_detection` object for `session.update`.
    pub fn turn_detection(self) -> TurnDetection {
        match self {
            VadMode::Server {
                silence_duration_ms,
            } => TurnDetection::ServerVad {
                threshold: None,
                prefix_padding_ms: None,
                silence_duration_ms: Some(silence_duration_ms),
                create_response: Some(true),
                interrupt_response: Some(true),
            },
            VadMode::Semantic(eagerness) => TurnDetection::SemanticVad {
                eagerness: Some(eagerness),
                create_response: Some(true),
                interrupt_response: Some(true),
            },
        }
    }
}

/// Realtime connection settings.
#[derive(Clone)]
pub struct RealtimeConfig {
    /// WebSocket URL without the model query, e.g. `ws://127.0.0.1:9000/v1/realtime`.
    pub url: String,
    /// Model name, sent as `?model=`.
    pub model: String,
    /// Bearer token; `None` only makes sense against a local fake.
    pub api_key: Option<String>,
    /// Output voice.
    pub voice: String,
    /// Voice activity detection.
    pub vad: VadMode,
    /// Learner speech transcription model; `None` disables transcripts.
    pub transcription_model: Option<String>,
    /// Give up on one connection attempt after this long.
    pub connect_timeout_ms: u64,
    /// First reconnect delay; doubles per failed attempt.
    pub reconnect_initial_backoff_ms: u64,
    /// Reconnect delay cap.
    pub reconnect_max_backoff_ms: u64,
    /// Consecutive failed attempts before the lesson is given up.
    pub reconnect_max_attempts: u32,
}

impl std::fmt::Debug for RealtimeConfig {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeConfig")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("voice", &self.voice)
            .field("vad", &self.vad)
            .finish_non_exhaustive()
    }
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            url: DEFAULT_REALTIME_URL.to_string(),
            model: DEFAULT_MODEL.to_string(),
            api_key: None,
            voice: DEFAULT_VOICE.to_string(),
            vad: VadMode::Semantic(Eagerness::Auto),
            transcription_model: Some(DEFAULT_TRANSCRIPTION_MODEL.to_string()),
            connect_timeout_ms: 10_000,
            reconnect_initial_backoff_ms: 250,
            reconnect_max_backoff_ms: 8_000,
            reconnect_max_attempts: 8,
        }
    }
}

impl RealtimeConfig {
    /// A config for a local fake server at `url` (no key, fast retries).
    pub fn for_local(url: impl Into<String>) -> Self {
        RealtimeConfig {
            url: url.into(),
            reconnect_initial_backoff_ms: 20,
            reconnect_max_backoff_ms: 200,
            connect_timeout_ms: 2_000,
            ..RealtimeConfig::default()
        }
    }

    /// The URL connected to, with `?model=` appended unless already present.
    pub fn endpoint(&self) -> String {
        if self.url.contains("model=") {
            self.url.clone()
        } else if self.url.contains('?') {
            format!("{}&model={}", self.url, self.model)
        } else {
            format!("{}?model={}", self.url, self.model)
        }
    }

    /// Delay before reconnect attempt `attempt` (1-based): exponential,
    /// capped, with jitter in [50%, 100%] so many lessons dropped together do
    /// not reconnect in lockstep.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let exp = attempt.saturating_sub(1).min(20);
        let base = self
            .reconnect_initial_backoff_ms
            .saturating_mul(1u64 << exp)
            .min(self.reconnect_max_backoff_ms);
        let half = base / 2;
        half + fastrand::u64(0..=base - half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_adds_the_model_once() {
        let mut c = RealtimeConfig::default();
        assert_eq!(
            c.endpoint(),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime"
        );
        c.url = "ws://127.0.0.1:9/v1/realtime?model=x".into();
        assert_eq!(c.endpoint(), "ws://127.0.0.1:9/v1/realtime?model=x");
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let c = RealtimeConfig::default();
        for attempt in 1..30 {
            let d = c.backoff_ms(attempt);
            let base = (250u64 << (attempt - 1).min(20)).min(8_000);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d}");
        }
        assert!(c.backoff_ms(30) <= 8_000);
    }

    #[test]
    fn debug_hides_the_key() {
        let c = RealtimeConfig {
            api_key: Some("sk-secret".into()),
            ..RealtimeConfig::default()
        };
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
