//! Deciding whether one call passed: its observed result against the step's
//! expectations and budget.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::file::{Step, TextMatch};
use crate::pointer::{check_pointers, json_eq};

/// A score counts as equal to the expected one within this distance (scores cross
/// the boundary as 32-bit floats).
const SCORE_TOLERANCE: f64 = 1e-3;

/// A piece of mastery evidence the call recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The objective.
    pub objective_id: String,
    /// 0.0 to 1.0.
    pub score: f32,
    /// The note for the teacher.
    pub note: String,
}

/// What one call did, as the runner saw it.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The outcome name, e.g. `ok` or `invalid_arguments`.
    pub outcome: &'a str,
    /// The error message for outcomes other than `ok`.
    pub error: Option<&'a str>,
    /// The output's content, when the outcome is `ok`.
    pub content: Option<&'a str>,
    /// The display as JSON with a `type` tag (`{"type":"question","prompt":…}`),
    /// `None` when the call showed nothing.
    pub display: Option<&'a Value>,
    /// The plugin's state before the call.
    pub state_before: &'a BTreeMap<String, String>,
    /// The plugin's state after the call (equal to `state_before` unless `ok`).
    pub state_after: &'a BTreeMap<String, String>,
    /// Evidence the call recorded (empty unless `ok`).
    pub evidence: &'a [Evidence],
    /// Log lines the plugin wrote.
    pub logs: &'a [String],
    /// Wall-clock milliseconds from starting the sandbox to the result.
    pub wall_ms: f64,
    /// Fuel used, when the engine metered it.
    pub fuel: Option<u64>,
}

/// One way a call did not match its step; the text says what was expected and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

fn check_text(text: Option<&str>, expected: &TextMatch, what: &str, out: &mut Vec<String>) {
    let Some(text) = text else {
        out.push(format!("{what} is absent"));
        return;
    };
    if let Some(want) = &expected.equals
        && text != want
    {
        out.push(format!(
            "{what} is {}, expected {}",
            shorten(text),
            shorten(want)
        ));
    }
    for needle in &expected.contains {
        if !text.contains(needle.as_str()) {
            out.push(format!(
                "{what} does not contain {needle:?}: {}",
                shorten(text)
            ));
        }
    }
    for needle in &expected.not_contains {
        if text.contains(needle.as_str()) {
            out.push(format!("{what} contains {needle:?}, which it must not"));
        }
    }
    if let Some(pattern) = &expected.matches {
        // Validated when the file was loaded.
        if let Ok(re) = regex::Regex::new(pattern)
            && !re.is_match(text)
        {
            out.push(format!(
                "{what} does not match /{pattern}/: {}",
                shorten(text)
            ));
        }
    }
    if let Some(pointers) = &expected.json {
        match serde_json::from_str::<Value>(text) {
            Ok(doc) => out.extend(check_pointers(&doc, pointers, what)),
            Err(e) => out.push(format!("{what} is not JSON ({e}): {}", shorten(text))),
        }
    }
}

/// All the display's text (every string and number but the `type` tag), one per line.
fn display_text(display: &Value) -> String {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(fields) => fields
                .iter()
                .filter(|(k, _)| k.as_str() != "type")
                .for_each(|(_, v)| walk(v, out)),
            Value::Null | Value::Bool(_) => {}
        }
    }
    let mut lines = Vec::new();
    walk(display, &mut lines);
    lines.join("\n")
}

fn same_state_value(found: &str, want: &Value) -> bool {
    match want {
        Value::String(s) if s == found => true,
        _ => {
            let want_text = match want {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match (
                serde_json::from_str::<Value>(found),
                serde_json::from_str::<Value>(&want_text),
            ) {
                (Ok(a), Ok(b)) => json_eq(&a, &b),
                _ => false,
            }
        }
    }
}

/// Compare one call with its step: expectations first, then the budget. An empty
/// list means the step passed.
pub fn check(step: &Step, observed: &Observed<'_>) -> Vec<Mismatch> {
    let expect = &step.expect;
    let mut out = Vec::new();

    let want_outcome = expect.outcome();
    if observed.outcome != want_outcome {
        let detail = observed
            .error
            .map(|e| format!(": {}", shorten(e)))
            .unwrap_or_default();
        out.push(format!(
            "outcome is `{}`{detail}, expected `{want_outcome}`",
            observed.outcome
        ));
    }
    if let Some(m) = &expect.error {
        check_text(observed.error, m, "error", &mut out);
    }
    if let Some(m) = &expect.content {
        check_text(observed.content, m, "content", &mut out);
    }
    if let Some(display) = &expect.display {
        let found_kind = observed
            .display
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("none");
        if let Some(kind) = &display.kind
            && kind != found_kind
        {
            out.push(format!("display is `{found_kind}`, expected `{kind}`"));
        }
        if let Some(m) = &display.text {
            let text = observed.display.map(display_text);
            check_text(text.as_deref(), m, "display text", &mut out);
        }
        if let Some(pointers) = &display.json {
            match observed.display {
                Some(d) => out.extend(check_pointers(d, pointers, "display")),
                None => out.push("display is absent".into()),
            }
        }
    }
    if let Some(state) = &expect.state {
        let after = observed.state_after;
        if state.unchanged == Some(true) && observed.state_before != after {
            let changed: Vec<&String> = observed
                .state_before
                .keys()
                .chain(after.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|k| observed.state_before.get(*k) != after.get(*k))
                .collect();
            out.push(format!(
                "state changed (keys {changed:?}), expected unchanged"
            ));
        }
        if let Some(want) = &state.equals {
            let keys: BTreeSet<&String> = want.keys().chain(after.keys()).collect();
            for key in keys {
                match (after.get(key), want.get(key)) {
                    (Some(found), Some(w)) if same_state_value(found, w) => {}
                    (Some(found), Some(w)) => out.push(format!(
                        "state `{key}` is {}, expected {}",
                        shorten(found),
                        shorten(&w.to_string())
                    )),
                    (None, Some(_)) => out.push(format!("state `{key}` is missing")),
                    (Some(_), None) => out.push(format!("state has `{key}`, which it should not")),
                    (None, None) => {}
                }
            }
        }
        if let Some(keys) = &state.keys {
            let want: BTreeSet<&String> = keys.iter().collect();
            let found: BTreeSet<&String> = after.keys().collect();
            if want != found {
                out.push(format!("state keys are {found:?}, expected {want:?}"));
            }
        }
        for key in &state.absent {
            if after.contains_key(key) {
                out.push(format!("state has `{key}`, which it should not"));
            }
        }
        for (key, m) in &state.values {
            check_text(
                after.get(key).map(String::as_str),
                m,
                &format!("state `{key}`"),
                &mut out,
            );
        }
    }
    if let Some(progress) = &expect.progress {
        if let Some(count) = progress.count
            && observed.evidence.len() != count
        {
            out.push(format!(
                "{} piece(s) of evidence recorded, expected {count}: {:?}",
                observed.evidence.len(),
                observed
                    .evidence
                    .iter()
                    .map(|e| (&e.objective_id, e.score))
                    .collect::<Vec<_>>()
            ));
        }
        for want in &progress.includes {
            let found = observed.evidence.iter().any(|e| {
                let score = f64::from(e.score);
                let mut note_misses = Vec::new();
                if let Some(m) = &want.note {
                    check_text(Some(&e.note), m, "note", &mut note_misses);
                }
                e.objective_id == want.objective_id
                    && want
                        .score
                        .is_none_or(|s| (score - s).abs() <= SCORE_TOLERANCE)
                    && want.score_min.is_none_or(|s| score >= s - SCORE_TOLERANCE)
                    && want.score_max.is_none_or(|s| score <= s + SCORE_TOLERANCE)
                    && note_misses.is_empty()
            });
            if !found {
                out.push(format!(
                    "no evidence for `{}` matching the expectation; recorded: {:?}",
                    want.objective_id,
                    observed
                        .evidence
                        .iter()
                        .map(|e| (&e.objective_id, e.score, &e.note))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    if let Some(logs) = &expect.logs {
        for needle in &logs.contains {
            if !observed.logs.iter().any(|l| l.contains(needle.as_str())) {
                out.push(format!("no log line contains {needle:?}"));
            }
        }
        if let Some(max) = logs.max_lines
            && observed.logs.len() > max
        {
            out.push(format!(
                "{} log lines, at most {max} expected",
                observed.logs.len()
            ));
        }
    }

    if let Some(wall_ms) = step.budget.wall_ms
        && observed.wall_ms > wall_ms as f64
    {
        out.push(format!(
            "took {:.1} ms, over the budget of {wall_ms} ms",
            observed.wall_ms
        ));
    }
    if let Some(fuel) = step.budget.fuel {
        match observed.fuel {
            Some(used) if used > fuel => {
                out.push(format!("used {used} fuel, over the budget of {fuel}"))
            }
            Some(_) => {}
            None => out.push(
                "the budget declares fuel but the call was not metered; run with fuel metering on"
                    .into(),
            ),
        }
    }
    out.into_iter().map(Mismatch).collect()
}
