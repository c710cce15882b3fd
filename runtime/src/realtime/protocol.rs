//! The OpenAI Realtime GA event protocol, as serde types.
//!
//! Only the events and fields Lectern uses are modelled; every other field is
//! ignored when reading, and server events of a type not listed here parse as
//! [`ServerEvent::Unknown`] so a new server event never breaks a lesson.
//! Names follow the GA protocol (`conversation.item.added`,
//! `response.output_audio.delta`, `session.type = "realtime"`, …), not the
//! older beta one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Sample rate of `audio/pcm` in both directions, in Hz.
pub const PCM_RATE_HZ: u32 = 24_000;

/// An event Lectern sends to the Realtime server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    /// Replace the session's configuration (instructions, tools, audio, VAD).
    #[serde(rename = "session.update")]
    SessionUpdate {
        /// The new configuration; omitted fields keep their value.
        session: SessionConfig,
    },
    /// Learner audio: base64 of PCM16 little-endian mono at 24 kHz.
    #[serde(rename = "input_audio_buffer.append")]
    InputAudioBufferAppend {
        /// Base64 audio bytes.
        audio: String,
    },
    /// Turn the buffered input audio into a user message (without VAD).
    #[serde(rename = "input_audio_buffer.commit")]
    InputAudioBufferCommit,
    /// Drop the buffered input audio.
    #[serde(rename = "input_audio_buffer.clear")]
    InputAudioBufferClear,
    /// Add an item to the conversation.
    #[serde(rename = "conversation.item.create")]
    ConversationItemCreate {
        /// Insert after this item; appended when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_item_id: Option<String>,
        /// The item.
        item: Item,
    },
    /// Cut an assistant audio item at what the learner actually heard.
    #[serde(rename = "conversation.item.truncate")]
    ConversationItemTruncate {
        /// The assistant message item.
        item_id: String,
        /// The audio content part (0 for audio replies).
        content_index: u32,
        /// Milliseconds of audio the learner heard.
        audio_end_ms: u32,
    },
    /// Ask the model to respond now.
    #[serde(rename = "response.create")]
    ResponseCreate {
        /// Per-response overrides; none in the usual case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<Value>,
    },
    /// Stop the response in progress.
    #[serde(rename = "response.cancel")]
    ResponseCancel {
        /// The response to cancel; the current one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_id: Option<String>,
    },
}

impl ClientEvent {
    /// The event's `type` string.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientEvent::SessionUpdate { .. } => "session.update",
            ClientEvent::InputAudioBufferAppend { .. } => "input_audio_buffer.append",
            ClientEvent::InputAudioBufferCommit => "input_audio_buffer.commit",
            ClientEvent::InputAudioBufferClear => "input_audio_buffer.clear",
            ClientEvent::ConversationItemCreate { .. } => "conversation.item.create",
            ClientEvent::ConversationItemTruncate { .. } => "conversation.item.truncate",
            ClientEvent::ResponseCreate { .. } => "response.create",
            ClientEvent::ResponseCancel { .. } => "response.cancel",
        }
    }
}

/// The session configuration sent with `session.update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Always `realtime` for a speech-to-speech session.
    #[serde(rename = "type")]
    pub kind: String,
    /// Model name, when it is not fixed by the connection URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `["audio"]` (audio with a transcript) or `["text"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<String>>,
    /// The system instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Audio formats, voice, VAD and input transcription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioConfig>,
    /// Function tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `auto`, `none` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
}

/// Input and output audio settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Learner audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<AudioInputConfig>,
    /// Tutor audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<AudioOutputConfig>,
}

/// Learner audio settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioInputConfig {
    /// Sample format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AudioFormat>,
    /// Voice activity detection; `null` turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_detection: Option<TurnDetection>,
    /// Transcription of the learner's speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Transcription>,
}

/// Tutor audio settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioOutputConfig {
    /// Sample format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AudioFormat>,
    /// Voice name, e.g. `marin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

/// An audio sample format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AudioFormat {
    /// PCM16 little-endian mono.
    #[serde(rename = "audio/pcm")]
    Pcm {
        /// Sample rate in Hz (24000 is the only rate the GA API accepts).
        rate: u32,
    },
    /// G.711 µ-law.
    #[serde(rename = "audio/pcmu")]
    Pcmu,
    /// G.711 A-law.
    #[serde(rename = "audio/pcma")]
    Pcma,
}

impl AudioFormat {
    /// PCM16 at 24 kHz, what Lectern uses both ways.
    pub fn pcm24k() -> Self {
        AudioFormat::Pcm { rate: PCM_RATE_HZ }
    }
}

/// Voice activity detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TurnDetection {
    /// Energy based: a turn ends after a period of silence.
    ServerVad {
        /// Activation threshold, 0.0 to 1.0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threshold: Option<f32>,
        /// Audio kept from before speech started, in ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix_padding_ms: Option<u32>,
        /// Silence that ends a turn, in ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        silence_duration_ms: Option<u32>,
        /// Respond automatically when a turn ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Cancel the response in progress when the learner starts speaking.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
    },
    /// Model based: a turn ends when the learner seems to have finished.
    SemanticVad {
        /// How eager the model is to take its turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eagerness: Option<Eagerness>,
        /// Respond automatically when a turn ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Cancel the response in progress when the learner starts speaking.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
    },
}

/// Eagerness of semantic VAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eagerness {
    /// Waits longest; lets learners think aloud.
    Low,
    /// Between low and high.
    Medium,
    /// Answers soonest.
    High,
    /// Server default (medium).
    Auto,
}

/// Transcription of learner audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    /// Transcription model, e.g. `gpt-4o-mini-transcribe`.
    pub model: String,
    /// ISO-639-1 language of the learner, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tool {
    /// A function tool.
    Function {
        /// snake_case name.
        name: String,
        /// What it does, written for the model.
        description: String,
        /// JSON Schema of the arguments.
        parameters: Value,
    },
}

/// A conversation item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    /// A message from the learner, the tutor or the system.
    Message {
        /// Server-assigned id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Who said it.
        role: Role,
        /// Text or audio parts.
        #[serde(default)]
        content: Vec<ContentPart>,
    },
    /// The model calling a tool.
    FunctionCall {
        /// Server-assigned id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Ties the call to its output.
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments as JSON text.
        arguments: String,
    },
    /// A tool's result, read by the model.
    FunctionCallOutput {
        /// Server-assigned id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The call this answers.
        call_id: String,
        /// What the model reads.
        output: String,
    },
    /// An item type Lectern does not use (MCP calls, …).
    #[serde(other)]
    Other,
}

impl Item {
    /// The server-assigned id, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message { id, .. }
            | Item::FunctionCall { id, .. }
            | Item::FunctionCallOutput { id, .. } => id.as_deref(),
            Item::Other => None,
        }
    }

    /// A text message, as replayed after a reconnect.
    pub fn text_message(role: Role, text: impl Into<String>) -> Self {
        let text = text.into();
        let part = match role {
            Role::Assistant => ContentPart::OutputText { text },
            Role::User | Role::System => ContentPart::InputText { text },
        };
        Item::Message {
            id: None,
            role,
            content: vec![part],
        }
    }
}

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The learner.
    User,
    /// The tutor.
    Assistant,
}

/// A part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text from the learner or system.
    InputText {
        /// The text.
        text: String,
    },
    /// Audio from the learner.
    InputAudio {
        /// Base64 audio (absent in server echoes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<String>,
        /// Transcript, once known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<String>,
    },
    /// Text from the tutor.
    OutputText {
        /// The text.
        text: String,
    },
    /// Audio from the tutor.
    OutputAudio {
        /// Base64 audio (absent in server echoes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<String>,
        /// Transcript of what the model said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<String>,
    },
    /// A part type Lectern does not use (images, …).
    #[serde(other)]
    Other,
}

/// An event the Realtime server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerEvent {
    /// Something went wrong; the connection usually stays open.
    #[serde(rename = "error")]
    Error {
        /// What went wrong.
        error: ApiError,
    },
    /// First event of a connection.
    #[serde(rename = "session.created")]
    SessionCreated {
        /// The session as the server sees it.
        session: Value,
    },
    /// Answer to `session.update`.
    #[serde(rename = "session.updated")]
    SessionUpdated {
        /// The session as the server sees it.
        session: Value,
    },
    /// VAD heard the learner start speaking.
    #[serde(rename = "input_audio_buffer.speech_started")]
    SpeechStarted {
        /// Offset in the input audio, ms.
        #[serde(default)]
        audio_start_ms: u32,
        /// The user item that will hold this speech.
        item_id: String,
    },
    /// VAD heard the learner stop.
    #[serde(rename = "input_audio_buffer.speech_stopped")]
    SpeechStopped {
        /// Offset in the input audio, ms.
        #[serde(default)]
        audio_end_ms: u32,
        /// The user item.
        item_id: String,
    },
    /// The input buffer became a user message.
    #[serde(rename = "input_audio_buffer.committed")]
    InputAudioBufferCommitted {
        /// The new user item.
        item_id: String,
        /// The item before it.
        #[serde(default)]
        previous_item_id: Option<String>,
    },
    /// The input buffer was cleared.
    #[serde(rename = "input_audio_buffer.cleared")]
    InputAudioBufferCleared,
    /// An item joined the conversation.
    #[serde(rename = "conversation.item.added")]
    ConversationItemAdded {
        /// The item.
        item: Item,
        /// The item before it.
        #[serde(default)]
        previous_item_id: Option<String>,
    },
    /// An item is complete.
    #[serde(rename = "conversation.item.done")]
    ConversationItemDone {
        /// The item.
        item: Item,
        /// The item before it.
        #[serde(default)]
        previous_item_id: Option<String>,
    },
    /// The learner's speech was transcribed.
    #[serde(rename = "conversation.item.input_audio_transcription.completed")]
    InputTranscriptionCompleted {
        /// The user item.
        item_id: String,
        /// Content part index.
        #[serde(default)]
        content_index: u32,
        /// What the learner said.
        transcript: String,
    },
    /// Transcription of the learner's speech failed.
    #[serde(rename = "conversation.item.input_audio_transcription.failed")]
    InputTranscriptionFailed {
        /// The user item.
        item_id: String,
        /// Why.
        error: ApiError,
    },
    /// Answer to `conversation.item.truncate`.
    #[serde(rename = "conversation.item.truncated")]
    ConversationItemTruncated {
        /// The assistant item.
        item_id: String,
        /// Content part index.
        #[serde(default)]
        content_index: u32,
        /// Where it was cut, ms.
        audio_end_ms: u32,
    },
    /// A response started.
    #[serde(rename = "response.created")]
    ResponseCreated {
        /// The response.
        response: ResponseInfo,
    },
    /// A response ended (completed, cancelled, failed or incomplete).
    #[serde(rename = "response.done")]
    ResponseDone {
        /// The response, with its output items (without audio).
        response: ResponseInfo,
    },
    /// A response produced a new item.
    #[serde(rename = "response.output_item.added")]
    ResponseOutputItemAdded {
        /// The response.
        response_id: String,
        /// The item.
        item: Item,
    },
    /// A response item is complete.
    #[serde(rename = "response.output_item.done")]
    ResponseOutputItemDone {
        /// The response.
        response_id: String,
        /// The item.
        item: Item,
    },
    /// A chunk of tutor audio.
    #[serde(rename = "response.output_audio.delta")]
    ResponseOutputAudioDelta {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// Content part index.
        #[serde(default)]
        content_index: u32,
        /// Base64 PCM16 at 24 kHz.
        delta: String,
    },
    /// The tutor audio of an item is complete.
    #[serde(rename = "response.output_audio.done")]
    ResponseOutputAudioDone {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
    },
    /// A chunk of the tutor's transcript.
    #[serde(rename = "response.output_audio_transcript.delta")]
    ResponseOutputAudioTranscriptDelta {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// Text.
        delta: String,
    },
    /// The tutor's transcript of an item is complete.
    #[serde(rename = "response.output_audio_transcript.done")]
    ResponseOutputAudioTranscriptDone {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// The whole transcript.
        transcript: String,
    },
    /// A chunk of function call arguments.
    #[serde(rename = "response.function_call_arguments.delta")]
    ResponseFunctionCallArgumentsDelta {
        /// The response.
        response_id: String,
        /// The function call item.
        item_id: String,
        /// The call.
        call_id: String,
        /// Text.
        delta: String,
    },
    /// The model finished writing a function call.
    #[serde(rename = "response.function_call_arguments.done")]
    ResponseFunctionCallArgumentsDone {
        /// The response.
        response_id: String,
        /// The function call item.
        item_id: String,
        /// The call.
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments as JSON text.
        arguments: String,
    },
    /// Current rate limits.
    #[serde(rename = "rate_limits.updated")]
    RateLimitsUpdated {
        /// One entry per limit.
        rate_limits: Vec<RateLimit>,
    },
    /// An event Lectern does not handle; logged and ignored.
    #[serde(other)]
    Unknown,
}

impl ServerEvent {
    /// Parses one text frame. Unknown event types give
    /// [`ServerEvent::Unknown`]; a known type with missing fields is an error.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        // Audio deltas are most of the traffic (50 a second per lesson, each
        // with ~1.3 KB of base64). A tagged enum first copies every field
        // into a generic tree; a plain struct borrowing from the text does not.
        if let Some(d) = AudioDeltaView::parse(text) {
            return Ok(d.into_event());
        }
        serde_json::from_str(text)
    }
}

const AUDIO_DELTA_TYPE: &str = "\"response.output_audio.delta\"";

/// `response.output_audio.delta`, read in place.
#[derive(Deserialize)]
pub(crate) struct AudioDeltaView<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    response_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    item_id: std::borrow::Cow<'a, str>,
    #[serde(default)]
    content_index: u32,
    #[serde(borrow)]
    delta: std::borrow::Cow<'a, str>,
}

impl<'a> AudioDeltaView<'a> {
    /// `text` as an audio delta, if it is one, borrowing its strings where
    /// they need no unescaping.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        if !text.contains(AUDIO_DELTA_TYPE) {
            return None;
        }
        serde_json::from_str::<AudioDeltaView<'_>>(text)
            .ok()
            .filter(|d| d.kind == "response.output_audio.delta")
    }

    /// The assistant item.
    pub(crate) fn item_id(&self) -> &str {
        &self.item_id
    }

    /// The base64 audio.
    pub(crate) fn delta(&self) -> &str {
        &self.delta
    }

    /// The owned event.
    pub(crate) fn into_event(self) -> ServerEvent {
        ServerEvent::ResponseOutputAudioDelta {
            response_id: self.response_id.into_owned(),
            item_id: self.item_id.into_owned(),
            content_index: self.content_index,
            delta: self.delta.into_owned(),
        }
    }
}

/// The `error` object of an `error` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// E.g. `invalid_request_error`, `server_error`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Machine-readable code, when there is one.
    #[serde(default)]
    pub code: Option<String>,
    /// What happened.
    #[serde(default)]
    pub message: String,
    /// The offending parameter.
    #[serde(default)]
    pub param: Option<String>,
    /// The client event that caused it.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// A response as reported by `response.created` / `response.done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseInfo {
    /// Response id.
    pub id: String,
    /// `in_progress`, `completed`, `cancelled`, `failed` or `incomplete`.
    #[serde(default)]
    pub status: Option<String>,
    /// Output items (audio omitted).
    #[serde(default)]
    pub output: Vec<Item>,
}

/// One rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// `requests` or `tokens`.
    pub name: String,
    /// The limit.
    #[serde(default)]
    pub limit: u64,
    /// What is left.
    #[serde(default)]
    pub remaining: u64,
    /// Seconds until it resets.
    #[serde(default)]
    pub reset_seconds: f64,
}

/// The `type` of a server event, read without parsing the rest (for logs).
pub fn event_type(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Envelope>(text).ok().map(|e| e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audio_deltas_parse_the_same_on_the_fast_path_in_any_field_order() {
        let expected = ServerEvent::ResponseOutputAudioDelta {
            response_id: "resp_1".into(),
            item_id: "item_2".into(),
            content_index: 0,
            delta: "AAD/fw==".into(),
        };
        for text in [
            r#"{"type":"response.output_audio.delta","event_id":"e","response_id":"resp_1","item_id":"item_2","output_index":0,"content_index":0,"delta":"AAD/fw=="}"#,
            r#"{"content_index":0,"delta":"AAD\/fw==","event_id":"e","item_id":"item_2","output_index":0,"response_id":"resp_1","type":"response.output_audio.delta"}"#,
        ] {
            assert_eq!(ServerEvent::parse(text).unwrap(), expected, "{text}");
        }
        // The type named elsewhere (a transcript) is not an audio delta.
        let said = r#"{"type":"response.output_audio_transcript.delta","response_id":"r","item_id":"i","content_index":0,"delta":"response.output_audio.delta"}"#;
        assert!(matches!(
            ServerEvent::parse(said).unwrap(),
            ServerEvent::ResponseOutputAudioTranscriptDelta { .. }
        ));
        // A delta missing a field is an error, as on the general path.
        assert!(
            ServerEvent::parse(r#"{"type":"response.output_audio.delta","item_id":"i"}"#).is_err()
        );
    }

    #[test]
    fn session_update_serialises_to_the_ga_shape() {
        let ev = ClientEvent::SessionUpdate {
            session: SessionConfig {
                kind: "realtime".into(),
                model: None,
                output_modalities: Some(vec!["audio".into()]),
                instructions: Some("Teach.".into()),
                audio: Some(AudioConfig {
                    input: Some(AudioInputConfig {
                        format: Some(AudioFormat::pcm24k()),
                        turn_detection: Some(TurnDetection::SemanticVad {
                            eagerness: Some(Eagerness::Low),
                            create_response: Some(true),
                            interrupt_response: Some(true),
                        }),
                        transcription: Some(Transcription {
                            model: "gpt-4o-mini-transcribe".into(),
                            language: None,
                        }),
                    }),
                    output: Some(AudioOutputConfig {
                        format: Some(AudioFormat::pcm24k()),
                        voice: Some("marin".into()),
                    }),
                }),
                tools: Some(vec![Tool::Function {
                    name: "check_understanding".into(),
                    description: "d".into(),
                    parameters: json!({"type": "object"}),
                }]),
                tool_choice: Some("auto".into()),
            },
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            v,
            json!({
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "output_modalities": ["audio"],
                    "instructions": "Teach.",
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcm", "rate": 24000},
                            "turn_detection": {"type": "semantic_vad", "eagerness": "low",
                                "create_response": true, "interrupt_response": true},
                            "transcription": {"model": "gpt-4o-mini-transcribe"}
                        },
                        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}
                    },
                    "tools": [{"type": "function", "name": "check_understanding",
                        "description": "d", "parameters": {"type": "object"}}],
                    "tool_choice": "auto"
                }
            })
        );
    }

    #[test]
    fn client_events_have_exact_ga_names_and_fields() {
        let cases = [
            (
                ClientEvent::ConversationItemTruncate {
                    item_id: "it".into(),
                    content_index: 0,
                    audio_end_ms: 1500,
                },
                json!({"type": "conversation.item.truncate", "item_id": "it", "content_index": 0, "audio_end_ms": 1500}),
            ),
            (
                ClientEvent::ConversationItemCreate {
                    previous_item_id: None,
                    item: Item::FunctionCallOutput {
                        id: None,
                        call_id: "c1".into(),
                        output: "ok".into(),
                    },
                },
                json!({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c1", "output": "ok"}}),
            ),
            (
                ClientEvent::ResponseCreate { response: None },
                json!({"type": "response.create"}),
            ),
            (
                ClientEvent::InputAudioBufferCommit,
                json!({"type": "input_audio_buffer.commit"}),
            ),
        ];
        for (ev, want) in cases {
            assert_eq!(serde_json::to_value(&ev).unwrap(), want);
            let back: ClientEvent = serde_json::from_value(want).unwrap();
            assert_eq!(back, ev);
        }
    }

    #[test]
    fn server_events_parse_and_unknown_ones_are_tolerated() {
        let ev = ServerEvent::parse(
            r#"{"type":"response.function_call_arguments.done","event_id":"e","response_id":"r","item_id":"i","output_index":0,"call_id":"c","name":"check_understanding","arguments":"{}"}"#,
        )
        .unwrap();
        assert!(matches!(
            ev,
            ServerEvent::ResponseFunctionCallArgumentsDone { ref name, .. } if name == "check_understanding"
        ));
        let ev = ServerEvent::parse(r#"{"type":"response.mcp_call.in_progress","x":1}"#).unwrap();
        assert_eq!(ev, ServerEvent::Unknown);
        let ev = ServerEvent::parse(
            r#"{"type":"conversation.item.added","item":{"type":"mcp_call","id":"x"}}"#,
        )
        .unwrap();
        assert!(matches!(
            ev,
            ServerEvent::ConversationItemAdded {
                item: Item::Other,
                ..
            }
        ));
        assert!(ServerEvent::parse(r#"{"type":"response.output_audio.delta"}"#).is_err());
        assert_eq!(
            event_type(r#"{"type":"x.y","a":2}"#).as_deref(),
            Some("x.y")
        );
    }
}
