//! The lesson mix the plugin benchmark measures, shared with
//! check-understanding's `lesson_mix` example, which replays it natively for
//! profiling: the two must make the same calls.

/// Focus of the `check_understanding` calls of a lesson, in turn: the model
/// names what was just discussed, or nothing.
pub const FOCUSES: &[Option<&str>] = &[
    None,
    Some("why leaves are green"),
    Some("inputs and outputs of photosynthesis"),
    None,
    Some("glucose and oxygen"),
    Some("what chlorophyll does with light"),
    None,
    Some("carbon dioxide"),
];

/// The learner's answers, in turn: right, partly right, wrong.
pub const ANSWERS: &[&str] = &[
    "Chlorophyll absorbs red and blue light and reflects the green, and plants need light, \
     water and carbon dioxide to make glucose and oxygen.",
    "The plant uses light and makes oxygen.",
    "I am not sure, maybe it has to do with the soil?",
];
