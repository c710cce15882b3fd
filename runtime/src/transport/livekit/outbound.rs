//! What the tutor sends into the room for each [`LessonEvent`].
//!
//! [`Router`] turns the session's events into [`RoomAction`]s and keeps the
//! transcript bookkeeping: the tutor's utterance is one text stream per
//! conversation item (segment), opened with the first delta, written delta by
//! delta, and closed with a trailer that marks it final; the learner's
//! transcript is one short stream per update, final or not. A later stream
//! with the same segment id replaces a segment's text (how LiveKit's
//! frontends treat it), which is how a truncated utterance is corrected to
//! what the learner heard.

use std::collections::{HashMap, VecDeque};

use super::{
    FINAL_ATTRIBUTE, LECTERN_EVENTS_TOPIC, SEGMENT_ID_ATTRIBUTE, TRANSCRIBED_TRACK_ATTRIBUTE,
    TRANSCRIPTION_TOPIC,
};
use crate::transport::{AgentState, LessonEvent};

/// How many finished tutor segments are remembered, so that a late delta of
/// one does not open a new stream.
const FINISHED_MEMORY: usize = 32;

/// Whose name a text stream is sent under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The tutor (this participant).
    Tutor,
    /// The learner: their own transcript, so frontends attribute it to them.
    Learner,
}

/// Stream attributes.
pub type Attributes = HashMap<String, String>;

/// One thing to do in the room, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomAction {
    /// Set the tutor's `lk.agent.state` attribute.
    SetAgentState(&'static str),
    /// Send a whole text as one stream.
    SendText {
        /// Text-stream topic.
        topic: &'static str,
        /// The text.
        text: String,
        /// Stream attributes.
        attributes: Attributes,
        /// Identity the stream is sent under.
        sender: Sender,
    },
    /// Open the tutor's transcript stream of a segment.
    OpenStream {
        /// Segment id (conversation item id).
        segment_id: String,
        /// Header attributes.
        attributes: Attributes,
    },
    /// Append to an open segment stream.
    WriteStream {
        /// Segment id.
        segment_id: String,
        /// Text to append.
        text: String,
    },
    /// Close a segment stream with trailer attributes.
    CloseStream {
        /// Segment id.
        segment_id: String,
        /// Trailer attributes (the final flag).
        attributes: Attributes,
    },
}

/// The value of `lk.agent.state` for a tutor state; `None` for
/// [`AgentState::Ended`], which the tutor's leaving the room says.
pub fn agent_state_value(state: AgentState) -> Option<&'static str> {
    match state {
        // LiveKit's name for an agent that is setting up.
        AgentState::Connecting => Some("initializing"),
        AgentState::Listening => Some("listening"),
        AgentState::Thinking => Some("thinking"),
        AgentState::Speaking => Some("speaking"),
        AgentState::Ended => None,
    }
}

/// A lesson event as sent on [`LECTERN_EVENTS_TOPIC`]: the `ws` protocol's
/// JSON.
pub fn encode_event(event: &LessonEvent) -> String {
    serde_json::to_string(event).expect("lesson events always serialise")
}

/// Whether `event` travels on [`LECTERN_EVENTS_TOPIC`] (rather than by a
/// LiveKit convention or not at all).
pub fn is_lectern_event(event: &LessonEvent) -> bool {
    !matches!(
        event,
        LessonEvent::AgentState { .. }
            | LessonEvent::LearnerTranscript { .. }
            | LessonEvent::TutorDelta { .. }
            | LessonEvent::TutorDone { .. }
            | LessonEvent::Truncated { .. }
            | LessonEvent::AudioStart { .. }
            | LessonEvent::AudioDone { .. }
            | LessonEvent::AudioClear { .. }
    )
}

/// Decides the room actions for lesson events; one per lesson.
#[derive(Debug, Default)]
pub struct Router {
    learner_track: Option<String>,
    tutor_track: Option<String>,
    /// Tutor segments with an open stream, oldest first, with the text sent.
    open: Vec<(String, String)>,
    finished: VecDeque<String>,
    last_state: Option<&'static str>,
}

impl Router {
    /// A router with no tracks known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The learner's microphone track, named in their transcripts.
    pub fn set_learner_track(&mut self, sid: Option<String>) {
        self.learner_track = sid;
    }

    /// The tutor's published track, named in its transcripts.
    pub fn set_tutor_track(&mut self, sid: Option<String>) {
        self.tutor_track = sid;
    }

    /// Tutor segments whose stream is open.
    pub fn open_segments(&self) -> impl Iterator<Item = &str> {
        self.open.iter().map(|(id, _)| id.as_str())
    }

    /// The actions for one event, in order.
    pub fn route(&mut self, event: LessonEvent) -> Vec<RoomAction> {
        let mut out = Vec::new();
        match event {
            LessonEvent::AgentState { state } => {
                if let Some(value) = agent_state_value(state)
                    && self.last_state != Some(value)
                {
                    self.last_state = Some(value);
                    out.push(RoomAction::SetAgentState(value));
                }
            }
            LessonEvent::LearnerTranscript {
                item_id,
                text,
                is_final,
            } => {
                if is_final || !text.is_empty() {
                    out.push(RoomAction::SendText {
                        topic: TRANSCRIPTION_TOPIC,
                        attributes: segment_attributes(
                            &item_id,
                            is_final,
                            self.learner_track.as_deref(),
                        ),
                        text,
                        sender: Sender::Learner,
                    });
                }
            }
            LessonEvent::TutorDelta { item_id, delta } => {
                if delta.is_empty() || self.finished.contains(&item_id) {
                    return out;
                }
                match self.open.iter_mut().find(|(id, _)| *id == item_id) {
                    Some((_, text)) => text.push_str(&delta),
                    None => {
                        out.push(RoomAction::OpenStream {
                            segment_id: item_id.clone(),
                            attributes: segment_attributes(
                                &item_id,
                                false,
                                self.tutor_track.as_deref(),
                            ),
                        });
                        self.open.push((item_id.clone(), delta.clone()));
                    }
                }
                out.push(RoomAction::WriteStream {
                    segment_id: item_id,
                    text: delta,
                });
            }
            LessonEvent::TutorDone { item_id, text } => {
                let already = self.finished.contains(&item_id);
                let sent = self.close(&item_id, &mut out);
                // Deltas lost or never sent: the whole text replaces them.
                let complete = match &sent {
                    Some(sent) => *sent == text,
                    None => already || text.is_empty(),
                };
                if !complete {
                    out.push(self.tutor_text(&item_id, text));
                }
            }
            LessonEvent::Truncated { item_id, text, .. } => {
                self.close(&item_id, &mut out);
                out.push(self.tutor_text(&item_id, text));
            }
            LessonEvent::AudioStart { .. }
            | LessonEvent::AudioDone { .. }
            | LessonEvent::AudioClear { .. } => {}
            event => {
                if matches!(event, LessonEvent::Ended { .. }) {
                    let open: Vec<String> = self.open.iter().map(|(id, _)| id.clone()).collect();
                    for id in open {
                        self.close(&id, &mut out);
                    }
                }
                out.push(RoomAction::SendText {
                    topic: LECTERN_EVENTS_TOPIC,
                    text: encode_event(&event),
                    attributes: Attributes::new(),
                    sender: Sender::Tutor,
                });
            }
        }
        out
    }

    /// Closes the segment's stream if open (final), returning the text it
    /// carried; remembers the segment as finished either way.
    fn close(&mut self, item_id: &str, out: &mut Vec<RoomAction>) -> Option<String> {
        let sent = self
            .open
            .iter()
            .position(|(id, _)| id == item_id)
            .map(|i| self.open.remove(i).1);
        if sent.is_some() {
            out.push(RoomAction::CloseStream {
                segment_id: item_id.to_string(),
                attributes: segment_attributes(item_id, true, self.tutor_track.as_deref()),
            });
        }
        if !self.finished.iter().any(|id| id == item_id) {
            if self.finished.len() == FINISHED_MEMORY {
                self.finished.pop_front();
            }
            self.finished.push_back(item_id.to_string());
        }
        sent
    }

    fn tutor_text(&self, item_id: &str, text: String) -> RoomAction {
        RoomAction::SendText {
            topic: TRANSCRIPTION_TOPIC,
            attributes: segment_attributes(item_id, true, self.tutor_track.as_deref()),
            text,
            sender: Sender::Tutor,
        }
    }
}

/// The attributes of a transcript stream.
pub fn segment_attributes(segment_id: &str, is_final: bool, track: Option<&str>) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(SEGMENT_ID_ATTRIBUTE.into(), segment_id.into());
    attributes.insert(FINAL_ATTRIBUTE.into(), is_final.to_string());
    if let Some(track) = track {
        attributes.insert(TRANSCRIBED_TRACK_ATTRIBUTE.into(), track.into());
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{ErrorBody, SubtopicRef};

    fn delta(item: &str, d: &str) -> LessonEvent {
        LessonEvent::TutorDelta {
            item_id: item.into(),
            delta: d.into(),
        }
    }

    fn done(item: &str, text: &str) -> LessonEvent {
        LessonEvent::TutorDone {
            item_id: item.into(),
            text: text.into(),
        }
    }

    fn attrs(segment: &str, is_final: bool, track: Option<&str>) -> Attributes {
        segment_attributes(segment, is_final, track)
    }

    #[test]
    fn tutor_segment_streams_deltas_and_closes_final() {
        let mut r = Router::new();
        r.set_tutor_track(Some("TR_tutor".into()));
        assert_eq!(
            r.route(delta("item_1", "Hello")),
            vec![
                RoomAction::OpenStream {
                    segment_id: "item_1".into(),
                    attributes: attrs("item_1", false, Some("TR_tutor")),
                },
                RoomAction::WriteStream {
                    segment_id: "item_1".into(),
                    text: "Hello".into()
                },
            ]
        );
        assert_eq!(
            r.route(delta("item_1", " there")),
            vec![RoomAction::WriteStream {
                segment_id: "item_1".into(),
                text: " there".into()
            }]
        );
        assert_eq!(
            r.route(done("item_1", "Hello there")),
            vec![RoomAction::CloseStream {
                segment_id: "item_1".into(),
                attributes: attrs("item_1", true, Some("TR_tutor")),
            }]
        );
        assert_eq!(r.open_segments().count(), 0);
        // A late delta of a finished segment opens nothing.
        assert_eq!(r.route(delta("item_1", "!")), vec![]);
        // The next item is a new segment.
        assert!(matches!(
            &r.route(delta("item_2", "Next"))[0],
            RoomAction::OpenStream { segment_id, .. } if segment_id == "item_2"
        ));
    }

    #[test]
    fn done_with_other_text_or_without_deltas_sends_the_whole_text() {
        let mut r = Router::new();
        r.route(delta("a", "Hel"));
        let actions = r.route(done("a", "Hello."));
        assert_eq!(actions.len(), 2);
        assert!(matches!(&actions[0], RoomAction::CloseStream { .. }));
        assert_eq!(
            actions[1],
            RoomAction::SendText {
                topic: TRANSCRIPTION_TOPIC,
                text: "Hello.".into(),
                attributes: attrs("a", true, None),
                sender: Sender::Tutor,
            }
        );
        assert_eq!(
            r.route(done("b", "Only at the end")),
            vec![RoomAction::SendText {
                topic: TRANSCRIPTION_TOPIC,
                text: "Only at the end".into(),
                attributes: attrs("b", true, None),
                sender: Sender::Tutor,
            }]
        );
        assert_eq!(r.route(done("c", "")), vec![]);
    }

    #[test]
    fn truncation_closes_the_stream_and_replaces_the_text() {
        let mut r = Router::new();
        r.route(delta("x", "One two three four"));
        let actions = r.route(LessonEvent::Truncated {
            item_id: "x".into(),
            audio_end_ms: 400,
            text: "One two".into(),
        });
        assert_eq!(
            actions,
            vec![
                RoomAction::CloseStream {
                    segment_id: "x".into(),
                    attributes: attrs("x", true, None),
                },
                RoomAction::SendText {
                    topic: TRANSCRIPTION_TOPIC,
                    text: "One two".into(),
                    attributes: attrs("x", true, None),
                    sender: Sender::Tutor,
                },
            ]
        );
        // Truncated after the segment was done: only the replacement.
        r.route(delta("y", "Long answer"));
        r.route(done("y", "Long answer"));
        let actions = r.route(LessonEvent::Truncated {
            item_id: "y".into(),
            audio_end_ms: 100,
            text: "Long".into(),
        });
        assert_eq!(actions.len(), 1);
        assert!(matches!(&actions[0], RoomAction::SendText { text, .. } if text == "Long"));
    }

    #[test]
    fn learner_transcripts_go_under_the_learner_with_their_track() {
        let mut r = Router::new();
        r.set_learner_track(Some("TR_mic".into()));
        let interim = r.route(LessonEvent::LearnerTranscript {
            item_id: "u1".into(),
            text: "what is".into(),
            is_final: false,
        });
        assert_eq!(
            interim,
            vec![RoomAction::SendText {
                topic: TRANSCRIPTION_TOPIC,
                text: "what is".into(),
                attributes: attrs("u1", false, Some("TR_mic")),
                sender: Sender::Learner,
            }]
        );
        let fin = r.route(LessonEvent::LearnerTranscript {
            item_id: "u1".into(),
            text: "what is a noun".into(),
            is_final: true,
        });
        assert!(matches!(&fin[0], RoomAction::SendText { attributes, .. }
            if attributes[FINAL_ATTRIBUTE] == "true" && attributes[SEGMENT_ID_ATTRIBUTE] == "u1"));
        // An empty interim says nothing.
        assert!(
            r.route(LessonEvent::LearnerTranscript {
                item_id: "u2".into(),
                text: String::new(),
                is_final: false,
            })
            .is_empty()
        );
    }

    #[test]
    fn agent_state_sets_the_attribute_once_per_change() {
        let mut r = Router::new();
        let state = |s| LessonEvent::AgentState { state: s };
        assert_eq!(
            r.route(state(AgentState::Connecting)),
            vec![RoomAction::SetAgentState("initializing")]
        );
        assert_eq!(
            r.route(state(AgentState::Listening)),
            vec![RoomAction::SetAgentState("listening")]
        );
        assert_eq!(r.route(state(AgentState::Listening)), vec![]);
        assert_eq!(
            r.route(state(AgentState::Thinking)),
            vec![RoomAction::SetAgentState("thinking")]
        );
        assert_eq!(
            r.route(state(AgentState::Speaking)),
            vec![RoomAction::SetAgentState("speaking")]
        );
        assert_eq!(r.route(state(AgentState::Ended)), vec![]);
    }

    #[test]
    fn lectern_events_are_the_ws_json_and_playout_events_stay_local() {
        let mut r = Router::new();
        let card = LessonEvent::ToolCard {
            call_id: "call_1".into(),
            tool: "check_understanding".into(),
            display: serde_json::json!({"type": "markdown", "text": "**Hi**"}),
        };
        let actions = r.route(card.clone());
        let RoomAction::SendText {
            topic,
            text,
            attributes,
            sender,
        } = &actions[0]
        else {
            panic!("expected a text: {actions:?}");
        };
        assert_eq!(*topic, LECTERN_EVENTS_TOPIC);
        assert_eq!(*sender, Sender::Tutor);
        assert!(attributes.is_empty());
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(json["type"], "tool.card");
        assert_eq!(json["display"]["text"], "**Hi**");
        assert_eq!(serde_json::from_str::<LessonEvent>(text).unwrap(), card);

        for local in [
            LessonEvent::AudioStart {
                item_id: "i".into(),
            },
            LessonEvent::AudioDone {
                item_id: "i".into(),
            },
            LessonEvent::AudioClear {
                item_id: "i".into(),
            },
        ] {
            assert!(!is_lectern_event(&local));
            assert_eq!(r.route(local), vec![]);
        }
        for event in [
            LessonEvent::Ready {
                session_id: "s".into(),
                subtopic: SubtopicRef {
                    id: "st".into(),
                    title: "T".into(),
                    topic_title: "TT".into(),
                },
            },
            LessonEvent::Error {
                error: ErrorBody {
                    code: "c".into(),
                    message: "m".into(),
                },
            },
        ] {
            assert!(is_lectern_event(&event));
            let actions = r.route(event.clone());
            assert!(
                matches!(&actions[..], [RoomAction::SendText { topic, text, .. }]
                if *topic == LECTERN_EVENTS_TOPIC && *text == encode_event(&event))
            );
        }
    }

    #[test]
    fn lesson_end_closes_open_segments_first() {
        let mut r = Router::new();
        r.route(delta("a", "unfinished"));
        let actions = r.route(LessonEvent::Ended {
            reason: "learner_left".into(),
        });
        assert_eq!(actions.len(), 2);
        assert!(
            matches!(&actions[0], RoomAction::CloseStream { segment_id, attributes }
            if segment_id == "a" && attributes[FINAL_ATTRIBUTE] == "true")
        );
        assert!(
            matches!(&actions[1], RoomAction::SendText { topic, text, .. }
            if *topic == LECTERN_EVENTS_TOPIC && text.contains("\"lesson.ended\""))
        );
    }

    #[test]
    fn finished_memory_is_bounded() {
        let mut r = Router::new();
        for i in 0..(FINISHED_MEMORY + 10) {
            r.route(done(&format!("i{i}"), "t"));
        }
        assert_eq!(r.finished.len(), FINISHED_MEMORY);
        assert!(!r.finished.contains(&"i0".to_string()));
    }
}
