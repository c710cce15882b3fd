//! `progress`: mastery evidence for the subtopic's objectives.
//!
//! Evidence is validated (a known objective, a finite score in 0..=1) and kept in
//! the call's ledger; the host never writes it anywhere itself. It is returned in
//! the call record, and only for a call that ends `ok`.

use std::sync::Arc;

use crate::lesson::Subtopic;
use crate::plugin::bindings::progress as wit;
use crate::plugin::call::{Evidence, Mastery};
use crate::plugin::sandbox::CallState;

/// Pieces of evidence one call may record: a tool grades one answer or a short
/// round, never hundreds.
pub const MAX_EVIDENCE_PER_CALL: usize = 32;
/// Longest evidence note kept, in bytes.
pub const MAX_EVIDENCE_NOTE_BYTES: usize = 500;

/// The evidence a call records, and the mastery known before it.
#[derive(Debug)]
pub(crate) struct ProgressLedger {
    pub(crate) lesson: Arc<Subtopic>,
    pub(crate) before: Vec<Mastery>,
    pub(crate) recorded: Vec<Evidence>,
}

impl ProgressLedger {
    fn record(&mut self, objective_id: String, score: f32, note: String) -> Result<(), String> {
        if !self.lesson.objectives.iter().any(|o| o.id == objective_id) {
            let known: Vec<&str> = self
                .lesson
                .objectives
                .iter()
                .map(|o| o.id.as_str())
                .collect();
            return Err(format!(
                "objective `{objective_id}` is not one of this subtopic's objectives ({})",
                known.join(", ")
            ));
        }
        if !score.is_finite() || !(0.0..=1.0).contains(&score) {
            return Err(format!("score {score} is outside 0.0..=1.0"));
        }
        if self.recorded.len() >= MAX_EVIDENCE_PER_CALL {
            return Err(format!(
                "a call may record at most {MAX_EVIDENCE_PER_CALL} pieces of evidence"
            ));
        }
        let mut note = note;
        if note.len() > MAX_EVIDENCE_NOTE_BYTES {
            let mut cut = MAX_EVIDENCE_NOTE_BYTES;
            while !note.is_char_boundary(cut) {
                cut -= 1;
            }
            note.truncate(cut);
        }
        self.recorded.push(Evidence {
            objective_id,
            score,
            note,
        });
        Ok(())
    }

    /// Mastery per objective of the subtopic: the running mean of the evidence
    /// known before the call and the evidence recorded in it.
    pub(crate) fn mastery(&self) -> Vec<Mastery> {
        self.lesson
            .objectives
            .iter()
            .map(|o| {
                let (mut sum, mut count) = self
                    .before
                    .iter()
                    .find(|m| m.objective_id == o.id)
                    .map_or((0.0f64, 0u32), |m| {
                        (
                            f64::from(m.score) * f64::from(m.evidence_count),
                            m.evidence_count,
                        )
                    });
                for e in self.recorded.iter().filter(|e| e.objective_id == o.id) {
                    sum += f64::from(e.score);
                    count += 1;
                }
                Mastery {
                    objective_id: o.id.clone(),
                    score: if count == 0 {
                        0.0
                    } else {
                        (sum / f64::from(count)) as f32
                    },
                    evidence_count: count,
                }
            })
            .collect()
    }
}

impl wit::Host for CallState {
    fn record_evidence(
        &mut self,
        objective_id: String,
        score: f32,
        note: String,
    ) -> Result<(), String> {
        self.progress.record(objective_id, score, note)
    }

    fn mastery(&mut self) -> Vec<wit::ObjectiveMastery> {
        self.progress
            .mastery()
            .into_iter()
            .map(|m| wit::ObjectiveMastery {
                objective_id: m.objective_id,
                score: m.score,
                evidence_count: m.evidence_count,
            })
            .collect()
    }
}
