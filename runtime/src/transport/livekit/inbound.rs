//! What the tutor accepts from the room: who the learner is, and their typed
//! messages.

use crate::session::LessonSpec;
use crate::transport::ws::MAX_TEXT_INPUT_CHARS;

/// Largest `lk.chat` stream read, in bytes; a longer one is dropped unread
/// (the character limit below is far smaller).
pub const MAX_CHAT_BYTES: usize = 8_192;

/// A typed message that was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChatRejected {
    /// Nothing but whitespace.
    #[error("text_empty: an empty chat message was ignored")]
    Empty,
    /// Over [`MAX_TEXT_INPUT_CHARS`] characters.
    #[error("text_too_long: a chat message over 2000 characters was ignored; shorten it")]
    TooLong,
}

/// The learner's typed message as the lesson takes it (trimmed, 1 to
/// [`MAX_TEXT_INPUT_CHARS`] characters): the same rules as the `ws`
/// transport's `text.input`.
pub fn chat_text(raw: &str) -> Result<String, ChatRejected> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ChatRejected::Empty);
    }
    if text.chars().count() > MAX_TEXT_INPUT_CHARS {
        return Err(ChatRejected::TooLong);
    }
    Ok(text.to_string())
}

/// A participant in the room, as far as choosing the learner goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Participant identity.
    pub identity: &'a str,
    /// Another agent (or a recorder, bridge…): never the learner.
    pub is_agent: bool,
}

/// Which participant is the learner: the one named by the job when it names
/// one (no one else is taught in their place), else the first person in the
/// room who is not an agent.
pub fn pick_learner<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    wanted: Option<&str>,
) -> Option<&'a str> {
    let mut people = candidates.into_iter().filter(|c| !c.is_agent);
    match wanted {
        Some(wanted) => people.find(|c| c.identity == wanted).map(|c| c.identity),
        None => people.next().map(|c| c.identity),
    }
}

/// The lesson a room job asks for, once its learner is known: a new session
/// id (shaped like the `ws` lessons'), the learner's identity as their
/// learner id.
pub fn lesson_spec(room: &str, subtopic_id: &str, learner: &str) -> LessonSpec {
    LessonSpec {
        session_id: format!("lesson-{}", uuid::Uuid::new_v4().simple()),
        learner_id: learner.to_string(),
        subtopic_id: subtopic_id.to_string(),
        room: room.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_follows_the_ws_rules() {
        assert_eq!(
            chat_text("  what is a verb? \n").unwrap(),
            "what is a verb?"
        );
        assert_eq!(chat_text(" \t\n"), Err(ChatRejected::Empty));
        assert_eq!(
            chat_text(&"é".repeat(MAX_TEXT_INPUT_CHARS)).unwrap().len(),
            2 * MAX_TEXT_INPUT_CHARS
        );
        assert_eq!(
            chat_text(&"a".repeat(MAX_TEXT_INPUT_CHARS + 1)),
            Err(ChatRejected::TooLong)
        );
    }

    #[test]
    fn learner_is_the_named_person_or_the_first_non_agent() {
        let room = [
            Candidate {
                identity: "agent-x",
                is_agent: true,
            },
            Candidate {
                identity: "ana",
                is_agent: false,
            },
            Candidate {
                identity: "ben",
                is_agent: false,
            },
        ];
        assert_eq!(pick_learner(room, None), Some("ana"));
        assert_eq!(pick_learner(room, Some("ben")), Some("ben"));
        assert_eq!(pick_learner(room, Some("carl")), None);
        // An agent is never the learner, even when named.
        assert_eq!(pick_learner(room, Some("agent-x")), None);
        assert_eq!(pick_learner(room[..1].iter().copied(), None), None);
    }

    #[test]
    fn spec_names_the_room_subtopic_and_learner() {
        let a = lesson_spec("room-1", "nouns", "ana");
        assert_eq!(a.room, "room-1");
        assert_eq!(a.subtopic_id, "nouns");
        assert_eq!(a.learner_id, "ana");
        assert!(a.session_id.starts_with("lesson-"));
        assert_ne!(
            a.session_id,
            lesson_spec("room-1", "nouns", "ana").session_id
        );
    }
}
