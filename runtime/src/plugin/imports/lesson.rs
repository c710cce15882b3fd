//! `lesson`: the call's subtopic, read-only.

use crate::lesson::Subtopic;
use crate::plugin::bindings::lesson as wit;
use crate::plugin::sandbox::CallState;

impl wit::Host for CallState {
    fn current(&mut self) -> wit::Subtopic {
        to_wit(&self.lesson)
    }
}

fn to_wit(s: &Subtopic) -> wit::Subtopic {
    wit::Subtopic {
        id: s.id.clone(),
        topic_id: s.topic_id.clone(),
        topic_title: s.topic_title.clone(),
        title: s.title.clone(),
        summary: s.summary.clone(),
        content: s.content.clone(),
        objectives: s
            .objectives
            .iter()
            .map(|o| wit::Objective {
                id: o.id.clone(),
                text: o.text.clone(),
            })
            .collect(),
        key_points: s.key_points.clone(),
        examples: s
            .examples
            .iter()
            .map(|e| wit::WorkedExample {
                title: e.title.clone(),
                concept: e.concept.clone(),
                problem: e.problem.clone(),
                solution: e.solution.clone(),
            })
            .collect(),
        level: s.level.as_str().to_owned(),
    }
}
