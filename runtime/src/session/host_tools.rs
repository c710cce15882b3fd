//! The host's own tools: move to the next subtopic, switch subtopic, end the
//! lesson. They change the lesson itself, so they run in the session, not in
//! a plugin sandbox.

use serde::Deserialize;

use super::instructions::{END_LESSON, NEXT_SUBTOPIC, SWITCH_SUBTOPIC};
use super::{LessonDeps, Teaching};

/// What a host tool decided.
pub(crate) enum HostOutcome {
    /// Nothing changes; the model reads this.
    Output(String),
    /// Teach this subtopic from now on.
    Switch(Box<Teaching>),
    /// End the lesson after the current response.
    End(String),
    /// The arguments made no sense; the model reads why.
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchArgs {
    subtopic_id: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EndArgs {
    #[serde(default)]
    reason: Option<String>,
}

pub(crate) async fn run(
    deps: &LessonDeps,
    current: &Teaching,
    learner_id: &str,
    name: &str,
    arguments: &str,
) -> HostOutcome {
    match name {
        NEXT_SUBTOPIC => {
            let siblings = match deps
                .store
                .content()
                .list_subtopics(&current.subtopic.topic_id)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    return HostOutcome::Output(format!(
                        "The next subtopic could not be found ({e}); continue with the current one."
                    ));
                }
            };
            let next = siblings
                .iter()
                .position(|s| s.id == current.subtopic.id)
                .and_then(|i| siblings.get(i + 1));
            match next {
                None => HostOutcome::Output(
                    "This is the last subtopic of the topic. Summarise what the learner achieved and offer to end the lesson.".into(),
                ),
                Some(s) => match Teaching::load(deps, &s.id, learner_id).await {
                    Ok(t) => HostOutcome::Switch(Box::new(t)),
                    Err(e) => HostOutcome::Output(format!(
                        "The next subtopic could not be loaded ({e}); continue with the current one."
                    )),
                },
            }
        }
        SWITCH_SUBTOPIC => {
            let args: SwitchArgs = match serde_json::from_str(arguments) {
                Ok(a) => a,
                Err(e) => {
                    return HostOutcome::Invalid(format!(
                        "{SWITCH_SUBTOPIC} takes {{\"subtopic_id\": string}} ({e})"
                    ));
                }
            };
            if args.subtopic_id == current.subtopic.id {
                return HostOutcome::Output(
                    "The lesson is already on this subtopic; carry on.".into(),
                );
            }
            match Teaching::load(deps, &args.subtopic_id, learner_id).await {
                Ok(t) => HostOutcome::Switch(Box::new(t)),
                Err(_) => HostOutcome::Invalid(format!(
                    "there is no subtopic with id {:?}; ask the learner what they want to learn",
                    args.subtopic_id
                )),
            }
        }
        END_LESSON => {
            let args: EndArgs = if arguments.trim().is_empty() {
                EndArgs::default()
            } else {
                match serde_json::from_str(arguments) {
                    Ok(a) => a,
                    Err(e) => {
                        return HostOutcome::Invalid(format!(
                            "{END_LESSON} takes {{\"reason\"?: string}} ({e})"
                        ));
                    }
                }
            };
            HostOutcome::End(args.reason.unwrap_or_else(|| "completed".into()))
        }
        other => HostOutcome::Invalid(format!("{other} is not a host tool")),
    }
}
