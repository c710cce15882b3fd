//! `lesson`: the call's subtopic, read-only.
//!
//! A lesson asks the same subtopic of every call, so its import form (every
//! string and list already owned) is built once per subtopic and shared: a
//! call lowers it into the guest from the shared copy instead of building and
//! dropping a deep copy of its own.

use std::sync::{Arc, Mutex, Weak};

use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

use crate::lesson::Subtopic;
use crate::plugin::bindings::lesson as wit;
use crate::plugin::sandbox::CallState;

/// Subtopics whose import form is kept. A server teaches a few subtopics at a
/// time per lesson; past this the least recently converted one is dropped.
const KEPT_SUBTOPICS: usize = 64;

/// Import forms by subtopic. A subtopic is known by its allocation: the weak
/// reference keeps that address from being reused while the entry lives, and
/// an `Arc<Subtopic>` cannot be changed in place while a weak reference to it
/// exists, so a live entry always matches what the call's `Arc` holds.
static CONVERTED: Mutex<Vec<(Weak<Subtopic>, Arc<wit::Subtopic>)>> = Mutex::new(Vec::new());

/// Defines `lesson.current` in `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    linker.instance("lectern:tool/lesson@0.1.0")?.func_wrap(
        "current",
        |store: StoreContextMut<'_, CallState>, (): ()| Ok((converted(&store.data().lesson),)),
    )?;
    Ok(())
}

/// The import form of `lesson`, built on first use.
pub(crate) fn converted(lesson: &Arc<Subtopic>) -> Arc<wit::Subtopic> {
    let mut kept = CONVERTED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, found)) = kept
        .iter()
        .find(|(subtopic, _)| std::ptr::eq(subtopic.as_ptr(), Arc::as_ptr(lesson)))
    {
        return found.clone();
    }
    let made = Arc::new(to_wit(lesson));
    kept.retain(|(subtopic, _)| subtopic.strong_count() > 0);
    if kept.len() >= KEPT_SUBTOPICS {
        kept.remove(0);
    }
    kept.push((Arc::downgrade(lesson), made.clone()));
    made
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

#[cfg(test)]
mod tests {
    use super::*;

    fn subtopic(title: &str) -> Arc<Subtopic> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "id": "s", "topic_id": "t", "title": title,
                "objectives": [{"id": "o1", "text": "x"}]
            }))
            .unwrap(),
        )
    }

    #[test]
    fn one_conversion_per_subtopic_and_never_a_stale_one() {
        let a = subtopic("A");
        let first = converted(&a);
        assert_eq!(first.title, "A");
        assert!(Arc::ptr_eq(&first, &converted(&a)));
        // Equal contents in another allocation, and an edited copy, are
        // converted on their own.
        let b = subtopic("A");
        assert!(!Arc::ptr_eq(&first, &converted(&b)));
        let mut edited = (*a).clone();
        edited.title = "B".into();
        assert_eq!(converted(&Arc::new(edited)).title, "B");
        // A subtopic dropped and another made (possibly at the same address)
        // is not served the old form.
        drop((a, first));
        for i in 0..2 * KEPT_SUBTOPICS {
            let title = format!("T{i}");
            assert_eq!(converted(&subtopic(&title)).title, title);
        }
    }
}
