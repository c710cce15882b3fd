//! Running cases on a loaded plugin version in a Lectern plugin host: each
//! step is one call with the case's lesson, context, state and mastery; the
//! state and evidence of an `ok` call carry over to the next step, as in a
//! lesson; every call is checked with [`crate::check`].

use std::sync::Arc;

use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{
    CallRecord, Mastery, Outcome, PluginHost, PluginVersion, StateMap, ToolCall,
};

use crate::check::{Evidence, Mismatch, Observed, check};
use crate::file::{Budget, Case, LoadedCases, Step};

/// How cases are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Whether steps' wall-time budgets count: checked, and setting the call
    /// deadline. Off, only fuel budgets (deterministic) are checked and calls
    /// get the host's deadline.
    pub wall_time: bool,
}

/// What one step of a case did.
#[derive(Debug)]
pub struct StepRun<'a> {
    /// The step.
    pub step: &'a Step,
    /// The host's record of the call.
    pub record: CallRecord,
    /// The plugin's state before the call.
    pub state_before: StateMap,
    /// The plugin's state after the call.
    pub state_after: StateMap,
    /// Wall-clock milliseconds of the call.
    pub wall_ms: f64,
    /// Fuel the call used (0 for a call refused before reaching the plugin),
    /// `None` when the engine does not meter fuel.
    pub fuel: Option<u64>,
    /// Where the call differed from the step's expectations (none: it passed).
    pub mismatches: Vec<Mismatch>,
}

/// Every case's lesson as the host's `Subtopic`, checked before anything
/// runs; an error names the case whose lesson is not a subtopic.
pub fn lessons(loaded: &LoadedCases) -> Result<Vec<Arc<Subtopic>>, (String, serde_json::Error)> {
    loaded
        .cases
        .iter()
        .map(|case| {
            serde_json::from_value::<Subtopic>(case.lesson.clone())
                .map(Arc::new)
                .map_err(|e| (case.name.clone(), e))
        })
        .collect()
}

/// Runs the steps of `case` on `version` in order and hands each one's run to
/// `on_step` as soon as it is done. Cases never share state, even when they
/// name the same session: the session's state is set from the case before
/// each step and dropped at the end.
pub async fn run_case(
    host: &PluginHost,
    version: &Arc<PluginVersion>,
    case: &Case,
    lesson: Arc<Subtopic>,
    options: RunOptions,
    mut on_step: impl FnMut(&StepRun<'_>),
) {
    let plugin = version.name();
    let session = case.context.session_id.as_str();
    let mut state: StateMap = case.state.clone();
    let mut mastery: Vec<Mastery> = case
        .mastery
        .iter()
        .map(|m| Mastery {
            objective_id: m.objective_id.clone(),
            score: m.score,
            evidence_count: m.evidence_count,
        })
        .collect();
    for step in &case.steps {
        host.state().replace(session, plugin, state.clone());
        let mut call = ToolCall::new(&step.tool, &step.arguments, session, lesson.clone());
        call.learner_id = case.context.learner_id.clone();
        call.locale = case.context.locale.clone();
        call.mastery = mastery.clone();
        let mut limits = host.config().limits.clone();
        if options.wall_time {
            limits.call_deadline_ms = deadline_ms(&step.budget, limits.call_deadline_ms);
        }
        let record = host
            .call_version(version, &limits, &case.context.config, call)
            .await;
        let after = host.state().snapshot(session, plugin);

        let display = record
            .output
            .as_ref()
            .and_then(|o| o.display.as_ref())
            .and_then(|d| serde_json::to_value(d).ok());
        let evidence: Vec<Evidence> = record
            .evidence
            .iter()
            .map(|e| Evidence {
                objective_id: e.objective_id.clone(),
                score: e.score,
                note: e.note.clone(),
            })
            .collect();
        let logs: Vec<String> = record.logs.iter().map(|l| l.message.clone()).collect();
        let wall_ms = record.duration_us as f64 / 1000.0;
        // A metering engine meters every call that reaches the plugin; a call
        // refused before it (bad arguments, unknown tool) used none.
        let fuel = host
            .engine()
            .config()
            .fuel
            .then(|| record.fuel_used.unwrap_or(0));
        let observed = Observed {
            outcome: record.outcome.as_str(),
            error: record.error.as_deref(),
            content: record.output.as_ref().map(|o| o.content.as_str()),
            display: display.as_ref(),
            state_before: &state,
            state_after: &after,
            evidence: &evidence,
            logs: &logs,
            wall_ms,
            fuel,
        };
        let mismatches = if options.wall_time {
            check(step, &observed)
        } else {
            let mut fuel_only = step.clone();
            fuel_only.budget.wall_ms = None;
            check(&fuel_only, &observed)
        };
        let run = StepRun {
            step,
            record,
            state_before: state,
            state_after: after,
            wall_ms,
            fuel,
            mismatches,
        };
        on_step(&run);
        // State and evidence of an `ok` call carry over; others are discarded.
        state = if run.record.outcome == Outcome::Ok {
            add_evidence(&mut mastery, &run.record.evidence);
            run.state_after
        } else {
            run.state_before
        };
    }
    host.state().end_session(session);
}

/// Fold a call's evidence into the mastery the next call sees: the running mean
/// the host's `progress.mastery` import and the lesson's storage use.
fn add_evidence(mastery: &mut Vec<Mastery>, evidence: &[lectern_runtime::plugin::Evidence]) {
    for e in evidence {
        match mastery
            .iter_mut()
            .find(|m| m.objective_id == e.objective_id)
        {
            Some(m) => {
                let count = f64::from(m.evidence_count);
                let sum = f64::from(m.score) * count + f64::from(e.score);
                m.evidence_count += 1;
                m.score = (sum / (count + 1.0)) as f32;
            }
            None => mastery.push(Mastery {
                objective_id: e.objective_id.clone(),
                score: e.score,
                evidence_count: 1,
            }),
        }
    }
}

/// The call's deadline: twice the budget so an overrun is measured rather than
/// cut short, but never longer than the server allows, so a case cannot pass
/// here and time out in a lesson.
fn deadline_ms(budget: &Budget, server_ms: u64) -> u64 {
    match budget.wall_ms {
        Some(ms) => ms.saturating_mul(2).clamp(1, server_ms),
        None => server_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_budget_within_the_server_limit() {
        let budget = |wall_ms| Budget {
            wall_ms,
            fuel: None,
        };
        assert_eq!(deadline_ms(&budget(Some(100)), 500), 200);
        assert_eq!(deadline_ms(&budget(Some(2000)), 500), 500);
        assert_eq!(deadline_ms(&budget(None), 500), 500);
        assert_eq!(deadline_ms(&budget(Some(0)), 500), 1);
    }

    #[test]
    fn evidence_folds_into_a_running_mean() {
        let mut mastery = vec![Mastery {
            objective_id: "a".into(),
            score: 0.5,
            evidence_count: 1,
        }];
        let evidence = [
            lectern_runtime::plugin::Evidence {
                objective_id: "a".into(),
                score: 1.0,
                note: String::new(),
            },
            lectern_runtime::plugin::Evidence {
                objective_id: "b".into(),
                score: 0.25,
                note: String::new(),
            },
        ];
        add_evidence(&mut mastery, &evidence);
        assert_eq!(mastery[0].evidence_count, 2);
        assert!((mastery[0].score - 0.75).abs() < 1e-6);
        assert_eq!(mastery[1].objective_id, "b");
        assert_eq!(mastery[1].evidence_count, 1);
    }
}
