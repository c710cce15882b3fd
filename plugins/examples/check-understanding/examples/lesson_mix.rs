//! Runs the calls of a lesson natively, as the host benchmark does in the
//! sandbox: `check_understanding` with a changing focus, then `grade_answer`
//! of one of a few answers, the evidence folded into the learner's mastery.
//! For profiling the tool's own work, e.g. under
//! `valgrind --tool=callgrind --toggle-collect='lesson_mix::ask_once' …`.
//!
//! `cargo run --release -p check-understanding --example lesson_mix [CALLS]`

// The bump allocator below stands in for the component's arena.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::collections::BTreeMap;

use check_understanding::CheckUnderstanding;
use lectern_tool::{
    Call, CallContext, Env, LogLevel, Mastery, Objective, Subtopic, TeachingTool, ToolOutput,
};

/// A bump allocator that never frees, as the component's arena allocates
/// (see the SDK's `arena`): with the system allocator the profile would
/// show costs the component does not have.
struct Bump {
    memory: UnsafeCell<[u8; BUMP_BYTES]>,
    top: UnsafeCell<usize>,
}

const BUMP_BYTES: usize = 1 << 30;

// The example runs on one thread.
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let top = unsafe { &mut *self.top.get() };
        let base = self.memory.get() as usize;
        let start = (base + *top).next_multiple_of(layout.align()) - base;
        let end = start + layout.size();
        assert!(end <= BUMP_BYTES, "the example's memory is used up");
        *top = end;
        (base + start) as *mut u8
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static BUMP: Bump = Bump {
    memory: UnsafeCell::new([0; BUMP_BYTES]),
    top: UnsafeCell::new(0),
};

// The calls the host benchmark makes, from the benchmark itself.
#[path = "../../../../runtime/benches/plugin_call/mix.rs"]
mod mix;
use mix::{ANSWERS, FOCUSES};

struct Host {
    lesson: Subtopic,
    state: BTreeMap<String, String>,
    evidence: Vec<(String, f64, u32)>,
}

impl Env for Host {
    fn lesson(&mut self) -> Subtopic {
        self.lesson.clone()
    }
    fn state_get(&mut self, key: &str) -> Option<String> {
        self.state.get(key).cloned()
    }
    fn state_set(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.state.insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    fn state_delete(&mut self, key: &str) {
        self.state.remove(key);
    }
    fn state_keys(&mut self) -> Vec<String> {
        self.state.keys().cloned().collect()
    }
    fn record_evidence(&mut self, objective_id: &str, score: f32, _: &str) -> Result<(), String> {
        match self
            .evidence
            .iter_mut()
            .find(|(id, _, _)| id == objective_id)
        {
            Some((_, sum, count)) => {
                *sum += f64::from(score);
                *count += 1;
            }
            None => self
                .evidence
                .push((objective_id.to_owned(), f64::from(score), 1)),
        }
        Ok(())
    }
    fn mastery(&mut self) -> Vec<Mastery> {
        self.evidence
            .iter()
            .map(|(id, sum, count)| Mastery {
                objective_id: id.clone(),
                score: (sum / f64::from(*count)) as f32,
                evidence_count: *count,
            })
            .collect()
    }
    fn log(&mut self, _: LogLevel, _: &str) {}
}

fn lesson() -> Subtopic {
    let objective = |id: &str, text: &str| Objective {
        id: id.into(),
        text: text.into(),
    };
    Subtopic {
        id: "photosynthesis-basics".into(),
        topic_id: "biology".into(),
        topic_title: "Biology".into(),
        title: "How plants make food".into(),
        summary: "Plants turn light, water and carbon dioxide into sugar and oxygen.".into(),
        content: "Photosynthesis happens in the chloroplasts. Chlorophyll absorbs red and blue \
                  light and reflects green, which is why leaves look green."
            .into(),
        objectives: vec![
            objective(
                "inputs-outputs",
                "Name the inputs and outputs of photosynthesis",
            ),
            objective("chlorophyll", "Explain why leaves are green"),
        ],
        key_points: vec![
            "Photosynthesis needs light, water and carbon dioxide.".into(),
            "It produces glucose and oxygen.".into(),
            "Chlorophyll reflects green light, so leaves look green.".into(),
        ],
        examples: Vec::new(),
        level: "beginner".into(),
    }
}

fn call(host: &mut Host, tool: &str, arguments: String) -> ToolOutput {
    let context = CallContext {
        session_id: "bench-0".into(),
        subtopic_id: "photosynthesis-basics".into(),
        learner_id: "learner".into(),
        locale: "en-US".into(),
        config: "{}".into(),
        budget_ms: 1_000,
    };
    let mut call = Call::new(context, tool, arguments, host);
    CheckUnderstanding::invoke(&mut call).expect("the call succeeds")
}

#[inline(never)]
fn ask_once(host: &mut Host, focus: Option<&str>) -> ToolOutput {
    let arguments = match focus {
        Some(focus) => serde_json::json!({ "focus": focus }).to_string(),
        None => "{}".to_owned(),
    };
    call(host, "check_understanding", arguments)
}

#[inline(never)]
fn grade_once(host: &mut Host, question_id: &str, answer: &str) -> ToolOutput {
    let arguments = serde_json::json!({"question_id": question_id, "answer": answer}).to_string();
    call(host, "grade_answer", arguments)
}

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map_or(500, |n| n.parse().expect("a number of calls"));
    let mut host = Host {
        lesson: lesson(),
        state: BTreeMap::new(),
        evidence: Vec::new(),
    };
    let mut last = String::new();
    for turn in 0..calls / 2 {
        let asked = ask_once(&mut host, FOCUSES[turn % FOCUSES.len()]);
        let start = asked.content.find("question_id \"").expect("a question id") + 13;
        let id = &asked.content[start..];
        let id = &id[..id.find('"').expect("a closing quote")];
        let graded = grade_once(&mut host, id, ANSWERS[turn % ANSWERS.len()]);
        last = graded.content;
    }
    println!("{last}");
}
