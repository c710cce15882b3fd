//! `summarize-key-points`: summarizes the subtopic's key points, either all
//! of them or only those about objectives the learner has not mastered yet
//! (from `progress.mastery`), showing the points least shown so far when
//! they do not all fit.

use lectern_tool::text::Normalizer;
use lectern_tool::{
    Call, Display, Manifest, Mastery, Subtopic, TeachingTool, ToolError, ToolOutput, ToolSpec,
};
use serde::Deserialize;
use serde_json::json;

/// State key: how often each key point was shown (index = key point).
const SHOWN_KEY: &str = "shown";
/// Mastery at or above which an objective counts as mastered.
const MASTERED_AT_SCORE: f32 = 0.8;
/// Points shown when the model does not say.
const DEFAULT_MAX_POINTS: usize = 5;
/// Most points a summary may have: more is no longer a summary.
const MAX_POINTS: usize = 10;

/// The plugin.
pub struct SummarizeKeyPoints;

impl TeachingTool for SummarizeKeyPoints {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "Summarizes the lesson's key points, optionally only those the learner has not mastered."
        )
        .tool(ToolSpec::new(
            "summarize_key_points",
            "Get a short summary of the current subtopic's key points to recap with the \
             learner, e.g. before moving on or when they feel lost. With focus \
             \"not_mastered\" it keeps to what the learner's progress shows they have not \
             mastered yet. Summarize it in your own words; the learner sees the points on \
             screen.",
            json!({
                "type": "object",
                "properties": {
                    "focus": {
                        "type": "string",
                        "enum": ["all", "not_mastered"],
                        "description": "\"all\" for every key point, \"not_mastered\" for only \
                                        those about objectives the learner has not mastered."
                    },
                    "max_points": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_POINTS,
                        "description": "Most points to include (5 when left out)."
                    }
                },
                "required": ["focus"],
                "additionalProperties": false
            }),
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "summarize_key_points" => summarize(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(SummarizeKeyPoints);

#[derive(Deserialize, PartialEq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Focus {
    All,
    NotMastered,
}

#[derive(Deserialize)]
struct Arguments {
    focus: Focus,
    max_points: Option<usize>,
}

/// One candidate line of the summary.
struct Point {
    text: String,
    /// The key point's index; `None` for an objective with no key point.
    key_point: Option<usize>,
    /// Mastery of its objective (0 without evidence; 1 without objective).
    mastery: f32,
}

fn mastery_of(mastery: &[Mastery], objective_id: &str) -> Option<f32> {
    mastery
        .iter()
        .find(|m| m.objective_id == objective_id)
        .map(|m| m.score)
}

fn summarize(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: Arguments = call.arguments()?;
    let max_points = arguments.max_points.unwrap_or(DEFAULT_MAX_POINTS);
    if !(1..=MAX_POINTS).contains(&max_points) {
        return Err(ToolError::invalid_arguments(format!(
            "max_points must be 1 to {MAX_POINTS}, not {max_points}"
        )));
    }
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let lesson: Subtopic = call.lesson().clone();
    if lesson.key_points.is_empty() && lesson.objectives.is_empty() {
        return Err(ToolError::failed(format!(
            "\"{}\" has no key points or objectives to summarize; recap its summary instead: {}",
            lesson.title, lesson.summary
        )));
    }
    let mastery = call.mastery();
    let mut shown: Vec<u32> = call.state_or_default(SHOWN_KEY);
    shown.resize(lesson.key_points.len(), 0);

    let open_objectives: Vec<(&str, f32)> = lesson
        .objectives
        .iter()
        .map(|o| (o.id.as_str(), mastery_of(&mastery, &o.id).unwrap_or(0.0)))
        .filter(|(_, score)| *score < MASTERED_AT_SCORE)
        .collect();

    let mut points: Vec<Point> = lesson
        .key_points
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let objective = lesson.objective_for(text, &normalizer);
            let mastery = objective.map_or(1.0, |o| mastery_of(&mastery, &o.id).unwrap_or(0.0));
            Point {
                text: text.clone(),
                key_point: Some(index),
                mastery,
            }
        })
        .collect();

    let mut everything_mastered = false;
    if arguments.focus == Focus::NotMastered {
        // Objectives no key point speaks to are summarized by their own text.
        for (id, score) in &open_objectives {
            let covered = lesson.key_points.iter().any(|text| {
                lesson
                    .objective_for(text, &normalizer)
                    .is_some_and(|o| o.id == *id)
            });
            if !covered {
                let text = lesson
                    .objective(id)
                    .map(|o| o.text.clone())
                    .unwrap_or_default();
                points.push(Point {
                    text: format!("Still to master: {text}"),
                    key_point: None,
                    mastery: *score,
                });
            }
        }
        let open: Vec<Point> = points
            .into_iter()
            .filter(|p| p.mastery < MASTERED_AT_SCORE)
            .collect();
        everything_mastered = open.is_empty();
        points = if everything_mastered {
            lesson
                .key_points
                .iter()
                .enumerate()
                .map(|(index, text)| Point {
                    text: text.clone(),
                    key_point: Some(index),
                    mastery: 1.0,
                })
                .collect()
        } else {
            open
        };
    }

    // Choose the weakest and least shown; show them in the lesson's order.
    let candidates = points.len();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        let times = |p: &Point| p.key_point.map_or(0, |i| shown[i]);
        let weakest_first = if arguments.focus == Focus::NotMastered {
            points[a].mastery.total_cmp(&points[b].mastery)
        } else {
            std::cmp::Ordering::Equal
        };
        times(&points[a])
            .cmp(&times(&points[b]))
            .then(weakest_first)
            .then(a.cmp(&b))
    });
    order.truncate(max_points);
    order.sort_unstable();
    let chosen: Vec<&Point> = order.iter().map(|&i| &points[i]).collect();
    for point in &chosen {
        if let Some(index) = point.key_point {
            shown[index] += 1;
        }
    }
    call.set_state(SHOWN_KEY, &shown)?;

    let lines: Vec<String> = chosen.iter().map(|p| p.text.clone()).collect();
    let scope = match (arguments.focus, everything_mastered) {
        (Focus::All, _) => "all key points".to_owned(),
        (Focus::NotMastered, true) => {
            "every objective is mastered already, so this is a recap of all key points".to_owned()
        }
        (Focus::NotMastered, false) => {
            let objectives: Vec<String> = open_objectives
                .iter()
                .map(|(id, score)| format!("{id} {score:.2}"))
                .collect();
            format!(
                "what is not mastered yet (objectives: {})",
                objectives.join(", ")
            )
        }
    };
    let left_out = candidates - lines.len();
    let more = if left_out > 0 {
        format!(" {left_out} more point(s) were left out; ask again to see them.")
    } else {
        String::new()
    };
    let numbered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{}. {line}", i + 1))
        .collect();
    let content = format!(
        "Summary of \"{}\", {scope}: {}{more}",
        lesson.title,
        numbered.join(" ")
    );
    Ok(ToolOutput::text(content).with_display(Display::KeyPoints(lines)))
}

#[cfg(test)]
mod tests;
