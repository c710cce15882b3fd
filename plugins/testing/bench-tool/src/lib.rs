//! bench-tool: one flash-card drill step, written identically in Rust (here),
//! JavaScript (`plugins/js/bench-tool`) and Python (`plugins/python/bench-tool`),
//! so the language benchmark compares languages on the same work. Change one,
//! change all three (the logic is spelled out in `plugins/js/bench-tool/README.md`).

use std::collections::BTreeMap;

use lectern_tool::{
    Call, Display, Manifest, QuestionCard, TeachingTool, ToolError, ToolOutput, ToolSpec,
};
use serde::{Deserialize, Serialize};

const MAX_BOX: u32 = 5;
const GAP_BY_BOX: [u64; 6] = [0, 1, 2, 4, 8, 16];
const STOP_WORDS: &[&str] = &[
    "that", "this", "with", "from", "they", "them", "then", "than", "into", "only", "have", "each",
    "what", "when", "which", "there", "their", "these", "those",
];

/// A card's place in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Slot {
    #[serde(rename = "box")]
    box_: u32,
    due: u64,
}

const NEW_CARD: Slot = Slot { box_: 1, due: 0 };

/// The state kept under `deck`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Deck {
    clock: u64,
    cards: BTreeMap<String, Slot>,
    current: Option<String>,
}

struct Card {
    id: String,
    front: String,
    answer: Option<String>,
}

#[derive(Deserialize)]
struct Arguments {
    answer: Option<String>,
}

/// The model's view of the result, in the twins' field order.
#[derive(Serialize)]
struct Content<'a> {
    card_id: &'a str,
    prompt: &'a str,
    #[serde(rename = "box")]
    box_: u32,
    correct: Option<bool>,
}

/// FNV-1a, 32 bit, over the UTF-8 bytes, as 8 hex digits.
fn fnv1a(text: &str) -> String {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// The longest ASCII word of 4+ letters that is not a stop word; the first on a tie.
fn cloze_word(text: &str) -> Option<&str> {
    let mut best: Option<&str> = None;
    for word in text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
    {
        if word.len() >= 4
            && !STOP_WORDS.contains(&word.to_ascii_lowercase().as_str())
            && best.is_none_or(|b| word.len() > b.len())
        {
            best = Some(word);
        }
    }
    best
}

fn build_cards(key_points: &[String]) -> Vec<Card> {
    key_points
        .iter()
        .map(|text| {
            let answer = cloze_word(text);
            let front = match answer {
                Some(word) => text.replacen(word, "_____", 1),
                None => text.clone(),
            };
            Card {
                id: format!("kp-{}", fnv1a(text)),
                front,
                answer: answer.map(str::to_owned),
            }
        })
        .collect()
}

/// Due cards first (lowest box, then most overdue, then lesson order); else the
/// soonest due. Returns the card's index and its box.
fn pick(deck: &Deck, cards: &[Card]) -> (usize, u32) {
    cards
        .iter()
        .enumerate()
        .map(|(order, card)| {
            let slot = deck.cards.get(&card.id).copied().unwrap_or(NEW_CARD);
            let key = if slot.due <= deck.clock {
                (0, u64::from(slot.box_), slot.due, order)
            } else {
                (1, slot.due, 0, order)
            };
            (key, order, slot.box_)
        })
        .min_by_key(|(key, _, _)| *key)
        .map(|(_, order, box_)| (order, box_))
        .expect("there is at least one card")
}

/// The plugin.
pub struct BenchTool;

impl BenchTool {
    fn drill(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = call.arguments()?;
        let lesson = call.lesson();
        let cards = build_cards(&lesson.key_points);
        if cards.is_empty() {
            return Err(ToolError::failed("the lesson has no key points"));
        }
        let first_objective = lesson.objectives.first().map(|o| o.id.clone());
        // Unreadable state starts afresh, as in the twins.
        let mut deck: Deck = call
            .state_text("deck")
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();

        let mut correct = None;
        if let (Some(answer), Some(current)) = (&arguments.answer, &deck.current)
            && let Some(card) = cards.iter().find(|c| &c.id == current)
        {
            let right = card
                .answer
                .as_ref()
                .is_some_and(|a| answer.to_lowercase().contains(&a.to_lowercase()));
            let mut slot = deck.cards.get(&card.id).copied().unwrap_or(NEW_CARD);
            slot.box_ = if right {
                (slot.box_ + 1).min(MAX_BOX)
            } else {
                1
            };
            deck.clock += 1;
            slot.due = deck.clock + GAP_BY_BOX[slot.box_ as usize];
            deck.cards.insert(card.id.clone(), slot);
            if let Some(objective) = &first_objective {
                call.record_progress(
                    objective,
                    if right { 1.0 } else { 0.0 },
                    &format!("card {}", card.id),
                )?;
            }
            correct = Some(right);
        }

        let (next, box_) = pick(&deck, &cards);
        let card = &cards[next];
        deck.current = Some(card.id.clone());
        call.set_state("deck", &deck)?;
        let content = serde_json::to_string(&Content {
            card_id: &card.id,
            prompt: &card.front,
            box_,
            correct,
        })
        .map_err(|error| ToolError::failed(format!("internal error: {error}")))?;
        Ok(
            ToolOutput::text(content).with_display(Display::Question(QuestionCard {
                prompt: card.front.clone(),
                choices: Vec::new(),
                objective_id: None,
            })),
        )
    }
}

impl TeachingTool for BenchTool {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "Benchmark twin: one flash-card drill step (grade the last card, pick the next)."
        )
        .tool(ToolSpec::with_raw_parameters(
            "bench_drill",
            "Grade the answer to the last card (if any) and show the next card.",
            r#"{"type":"object","properties":{"answer":{"type":"string","maxLength":200}},"additionalProperties":false}"#,
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "bench_drill" => Self::drill(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(BenchTool);

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{FakeEnv, sample_subtopic};
    use serde_json::{Value, json};

    #[test]
    fn ids_and_cloze_words_match_the_twins() {
        // Values the JavaScript and Python twins' cases expect.
        assert_eq!(
            fnv1a("The denominator tells how many equal parts the whole is split into."),
            "b6602b59"
        );
        assert_eq!(
            cloze_word("Only fractions over a common denominator can be added directly."),
            Some("denominator")
        );
        assert_eq!(cloze_word("A is to be."), None);
    }

    #[test]
    fn a_right_answer_moves_the_card_up_and_records_progress() {
        // Not held to the SDK's manifest style (`check_manifest`): the manifest
        // is the twins', word for word.
        let manifest = BenchTool::manifest();
        assert_eq!(
            (manifest.name.as_str(), manifest.tools.len()),
            ("bench-tool", 1)
        );
        let lesson = sample_subtopic();
        let mut env = FakeEnv::new(lesson.clone());
        let first = env.invoke::<BenchTool>("bench_drill", json!({})).unwrap();
        let first: Value = serde_json::from_str(&first.content).unwrap();
        assert_eq!(first["box"], 1);
        assert_eq!(first["correct"], Value::Null);
        let id = first["card_id"].as_str().unwrap().to_owned();
        let answer = build_cards(&lesson.key_points)
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.answer)
            .unwrap();

        let second = env
            .invoke::<BenchTool>("bench_drill", json!({ "answer": answer.to_uppercase() }))
            .unwrap();
        let second: Value = serde_json::from_str(&second.content).unwrap();
        assert_eq!(second["correct"], true);
        assert_ne!(second["card_id"], first["card_id"]);
        let deck = env.state_json("deck").unwrap();
        assert_eq!(deck["clock"], 1);
        assert_eq!(deck["cards"][&id], json!({"box": 2, "due": 3}));
        assert_eq!(env.evidence().len(), 1);
        assert_eq!(env.evidence()[0].score, 1.0);
    }

    #[test]
    fn unreadable_state_starts_afresh() {
        let mut env = FakeEnv::new(sample_subtopic());
        env.put_state("deck", "not json");
        let output = env
            .invoke::<BenchTool>("bench_drill", json!({"answer": "x"}))
            .unwrap();
        let output: Value = serde_json::from_str(&output.content).unwrap();
        assert_eq!(output["correct"], Value::Null);
        assert_eq!(env.state_json("deck").unwrap()["clock"], 0);
    }
}
