//! The component side: bindings to the `teaching-tool` world and the glue
//! between them and [`TeachingTool`].
//!
//! Only compiled for `wasm32`; [`export!`](crate::export) refers to it.

// The generated bindings lower and lift values across the component
// boundary, which is unsafe by nature; the rest of the crate stays safe.
#[allow(unsafe_code, missing_docs, clippy::all)]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "teaching-tool",
        path: "../../wit/0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_teaching_tool",
        default_bindings_module: "lectern_tool::__private::bindings",
        runtime_path: "lectern_tool::__private::wit_bindgen::rt",
    });
}

use std::marker::PhantomData;

use bindings::lectern::tool::{lesson, log, progress, state, types};

use crate::env::{Env, LogLevel};
use crate::lesson::{Mastery, Objective, Subtopic, WorkedExample};
use crate::types::{
    CallContext, Display, ExampleCard, Manifest, QuestionCard, ScoreCard, ToolError, ToolOutput,
    ToolSpec,
};
use crate::{Call, TeachingTool};

/// Serves a call from the contract's imports.
pub struct HostEnv;

impl Env for HostEnv {
    fn lesson(&mut self) -> Subtopic {
        let subtopic = lesson::current();
        Subtopic {
            id: subtopic.id,
            topic_id: subtopic.topic_id,
            topic_title: subtopic.topic_title,
            title: subtopic.title,
            summary: subtopic.summary,
            content: subtopic.content,
            objectives: subtopic
                .objectives
                .into_iter()
                .map(|objective| Objective {
                    id: objective.id,
                    text: objective.text,
                })
                .collect(),
            key_points: subtopic.key_points,
            examples: subtopic
                .examples
                .into_iter()
                .map(|example| WorkedExample {
                    title: example.title,
                    concept: example.concept,
                    problem: example.problem,
                    solution: example.solution,
                })
                .collect(),
            level: subtopic.level,
        }
    }

    fn state_get(&mut self, key: &str) -> Option<String> {
        state::get(key)
    }

    fn state_set(&mut self, key: &str, value: &str) -> Result<(), String> {
        state::set(key, value)
    }

    fn state_delete(&mut self, key: &str) {
        state::delete(key);
    }

    fn state_keys(&mut self) -> Vec<String> {
        state::keys()
    }

    fn record_evidence(
        &mut self,
        objective_id: &str,
        score: f32,
        note: &str,
    ) -> Result<(), String> {
        progress::record_evidence(objective_id, score, note)
    }

    fn mastery(&mut self) -> Vec<Mastery> {
        progress::mastery()
            .into_iter()
            .map(|mastery| Mastery {
                objective_id: mastery.objective_id,
                score: mastery.score,
                evidence_count: mastery.evidence_count,
            })
            .collect()
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => log::Level::Trace,
            LogLevel::Debug => log::Level::Debug,
            LogLevel::Info => log::Level::Info,
            LogLevel::Warn => log::Level::Warn,
            LogLevel::Error => log::Level::Error,
        };
        log::log(level, message);
    }
}

/// Implements the world's exports for a [`TeachingTool`]; named by
/// [`export!`](crate::export).
pub struct Adapter<T>(PhantomData<T>);

impl<T: TeachingTool> bindings::Guest for Adapter<T> {
    fn describe() -> types::Manifest {
        manifest_to_wit(T::manifest())
    }

    fn invoke(
        ctx: types::CallContext,
        tool: String,
        arguments: String,
    ) -> Result<types::ToolOutput, types::ToolError> {
        let context = CallContext {
            session_id: ctx.session_id,
            subtopic_id: ctx.subtopic_id,
            learner_id: ctx.learner_id,
            locale: ctx.locale,
            config: ctx.config,
            budget_ms: ctx.budget_ms,
        };
        let mut call = Call::from_imports(context, tool, arguments);
        T::invoke(&mut call)
            .map(output_to_wit)
            .map_err(error_to_wit)
    }
}

fn manifest_to_wit(manifest: Manifest) -> types::Manifest {
    types::Manifest {
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        tools: manifest.tools.into_iter().map(tool_to_wit).collect(),
        capabilities: manifest.capabilities,
    }
}

fn tool_to_wit(tool: ToolSpec) -> types::ToolSpec {
    types::ToolSpec {
        name: tool.name,
        description: tool.description,
        parameters: tool.parameters,
    }
}

fn output_to_wit(output: ToolOutput) -> types::ToolOutput {
    types::ToolOutput {
        content: output.content,
        display: output.display.map(display_to_wit),
    }
}

fn display_to_wit(display: Display) -> types::Display {
    match display {
        Display::Markdown(text) => types::Display::Markdown(text),
        Display::Question(QuestionCard {
            prompt,
            choices,
            objective_id,
        }) => types::Display::Question(types::QuestionCard {
            prompt,
            choices,
            objective_id,
        }),
        Display::Example(ExampleCard {
            title,
            problem,
            solution,
        }) => types::Display::Example(types::ExampleCard {
            title,
            problem,
            solution,
        }),
        Display::Score(ScoreCard {
            title,
            correct,
            total,
            feedback,
        }) => types::Display::Score(types::ScoreCard {
            title,
            correct,
            total,
            feedback,
        }),
        Display::KeyPoints(points) => types::Display::KeyPoints(points),
    }
}

fn error_to_wit(error: ToolError) -> types::ToolError {
    match error {
        ToolError::InvalidArguments(message) => types::ToolError::InvalidArguments(message),
        ToolError::Failed(message) => types::ToolError::Failed(message),
    }
}
