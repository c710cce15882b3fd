//! The conversation as it can be replayed after a reconnect.
//!
//! A new Realtime connection starts with an empty conversation. To carry on,
//! the client keeps what was said (as text: audio is not replayed), the tool
//! calls and their outputs, in conversation order, and sends them back as
//! `conversation.item.create` events. The tutor's part is what the learner
//! heard: a truncated reply keeps only the heard text.

use super::protocol::{ClientEvent, Item, Role, ServerEvent, SessionConfig};

/// Items replayed after a reconnect, most recent kept; older turns matter
/// less than staying well inside the model's context.
pub const MAX_REPLAY_ITEMS: usize = 200;

#[derive(Debug, Clone)]
struct Entry {
    /// Server item id (or call id for function outputs), to update in place.
    key: Option<String>,
    item: Item,
    /// Set once the heard text is known; later transcripts do not override it.
    final_text: bool,
}

/// Replayable conversation state.
#[derive(Debug, Default, Clone)]
pub struct History {
    entries: Vec<Entry>,
    session: Option<SessionConfig>,
}

impl History {
    /// Notes an event Lectern sent.
    pub fn on_client_event(&mut self, ev: &ClientEvent) {
        match ev {
            ClientEvent::SessionUpdate { session } => self.session = Some(session.clone()),
            ClientEvent::ConversationItemCreate { item, .. } => {
                let key = match item {
                    Item::FunctionCallOutput { call_id, .. } => Some(format!("out:{call_id}")),
                    _ => None,
                };
                self.entries.push(Entry {
                    key,
                    item: strip_id(item.clone()),
                    final_text: true,
                });
            }
            _ => {}
        }
    }

    /// Notes an event the server sent.
    pub fn on_server_event(&mut self, ev: &ServerEvent) {
        match ev {
            ServerEvent::InputAudioBufferCommitted { item_id, .. } => {
                self.upsert_text(item_id, Role::User, String::new(), false);
            }
            ServerEvent::InputTranscriptionCompleted {
                item_id,
                transcript,
                ..
            } => self.upsert_text(item_id, Role::User, transcript.clone(), true),
            ServerEvent::ResponseOutputAudioTranscriptDelta { item_id, delta, .. } => {
                let idx = self.ensure(item_id, Role::Assistant);
                let e = &mut self.entries[idx];
                if !e.final_text {
                    push_text(&mut e.item, delta);
                }
            }
            ServerEvent::ResponseOutputAudioTranscriptDone {
                item_id,
                transcript,
                ..
            } => self.upsert_text(item_id, Role::Assistant, transcript.clone(), false),
            ServerEvent::ResponseFunctionCallArgumentsDone {
                item_id,
                call_id,
                name,
                arguments,
                ..
            } if !self
                .entries
                .iter()
                .any(|e| e.key.as_deref() == Some(item_id)) =>
            {
                self.entries.push(Entry {
                    key: Some(item_id.clone()),
                    item: Item::FunctionCall {
                        id: None,
                        call_id: call_id.clone(),
                        name: name.clone(),
                        arguments: arguments.clone(),
                    },
                    final_text: true,
                });
            }
            _ => {}
        }
    }

    /// Keeps only the text the learner heard of a tutor reply.
    pub fn set_heard(&mut self, item_id: &str, heard: &str) {
        self.upsert_text(item_id, Role::Assistant, heard.to_string(), true);
    }

    /// The events that restore the conversation on a fresh connection: the
    /// last session configuration, then the items in order.
    pub fn replay(&self) -> Vec<ClientEvent> {
        let mut out = Vec::new();
        if let Some(session) = &self.session {
            out.push(ClientEvent::SessionUpdate {
                session: session.clone(),
            });
        }
        let items: Vec<&Entry> = self.entries.iter().filter(|e| !is_empty(&e.item)).collect();
        let skip = items.len().saturating_sub(MAX_REPLAY_ITEMS);
        out.extend(
            items
                .into_iter()
                .skip(skip)
                .map(|e| ClientEvent::ConversationItemCreate {
                    previous_item_id: None,
                    item: e.item.clone(),
                }),
        );
        out
    }

    /// Number of replayable items.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| !is_empty(&e.item)).count()
    }

    /// Whether there is nothing to replay.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn ensure(&mut self, item_id: &str, role: Role) -> usize {
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.key.as_deref() == Some(item_id))
        {
            return i;
        }
        self.entries.push(Entry {
            key: Some(item_id.to_string()),
            item: Item::text_message(role, String::new()),
            final_text: false,
        });
        self.entries.len() - 1
    }

    fn upsert_text(&mut self, item_id: &str, role: Role, text: String, make_final: bool) {
        let idx = self.ensure(item_id, role);
        let e = &mut self.entries[idx];
        if e.final_text && !make_final {
            return;
        }
        e.item = Item::text_message(role, text);
        e.final_text = make_final;
    }
}

fn strip_id(item: Item) -> Item {
    match item {
        Item::Message { role, content, .. } => Item::Message {
            id: None,
            role,
            content,
        },
        Item::FunctionCall {
            call_id,
            name,
            arguments,
            ..
        } => Item::FunctionCall {
            id: None,
            call_id,
            name,
            arguments,
        },
        Item::FunctionCallOutput {
            call_id, output, ..
        } => Item::FunctionCallOutput {
            id: None,
            call_id,
            output,
        },
        Item::Other => Item::Other,
    }
}

fn push_text(item: &mut Item, delta: &str) {
    use super::protocol::ContentPart;
    if let Item::Message { content, .. } = item
        && let Some(ContentPart::OutputText { text } | ContentPart::InputText { text }) =
            content.first_mut()
    {
        text.push_str(delta);
    }
}

fn is_empty(item: &Item) -> bool {
    use super::protocol::ContentPart;
    match item {
        Item::Message { content, .. } => content.iter().all(|p| match p {
            ContentPart::InputText { text } | ContentPart::OutputText { text } => {
                text.trim().is_empty()
            }
            _ => false,
        }),
        Item::Other => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(item: &str, d: &str) -> ServerEvent {
        ServerEvent::ResponseOutputAudioTranscriptDelta {
            response_id: "r".into(),
            item_id: item.into(),
            delta: d.into(),
        }
    }

    #[test]
    fn replays_in_conversation_order_with_heard_text() {
        let mut h = History::default();
        h.on_server_event(&ServerEvent::InputAudioBufferCommitted {
            item_id: "u1".into(),
            previous_item_id: None,
        });
        h.on_server_event(&delta("a1", "Hello "));
        h.on_server_event(&delta("a1", "there, friend"));
        // The transcript arrives after the reply started; it keeps its place.
        h.on_server_event(&ServerEvent::InputTranscriptionCompleted {
            item_id: "u1".into(),
            content_index: 0,
            transcript: "hi".into(),
        });
        h.set_heard("a1", "Hello");
        h.on_server_event(&ServerEvent::ResponseOutputAudioTranscriptDone {
            response_id: "r".into(),
            item_id: "a1".into(),
            transcript: "Hello there, friend".into(),
        });
        h.on_server_event(&ServerEvent::ResponseFunctionCallArgumentsDone {
            response_id: "r".into(),
            item_id: "f1".into(),
            call_id: "c1".into(),
            name: "quiz".into(),
            arguments: "{}".into(),
        });
        h.on_client_event(&ClientEvent::ConversationItemCreate {
            previous_item_id: None,
            item: Item::FunctionCallOutput {
                id: None,
                call_id: "c1".into(),
                output: "done".into(),
            },
        });
        let items: Vec<serde_json::Value> = h
            .replay()
            .iter()
            .map(|e| serde_json::to_value(e).unwrap()["item"].clone())
            .collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["content"][0]["text"], "hi");
        assert_eq!(items[0]["role"], "user");
        assert_eq!(items[1]["content"][0]["text"], "Hello");
        assert_eq!(items[1]["content"][0]["type"], "output_text");
        assert_eq!(items[2]["type"], "function_call");
        assert_eq!(items[3]["type"], "function_call_output");
    }
}
