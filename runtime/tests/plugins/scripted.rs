//! The teaching tools written in JavaScript and Python (`plugins/js/*`,
//! `plugins/python/*`, built from source by their `build.sh`), and what the
//! shared tests call on each. `foreach_scripted!` makes a component without an
//! entry here a compile error, so every one is covered by the tests that cover
//! the Rust examples.

/// One script-built teaching tool and two calls that do real work from the
/// lesson fixture ([`crate::fractions`]).
pub struct Scripted {
    /// Artifact name, `<folder>-<dir>` (e.g. `js-flash-cards`).
    pub artifact: &'static str,
    /// Where the component was built.
    pub path: &'static str,
    /// The plugin name its manifest declares.
    pub plugin: &'static str,
    /// A first call that answers from the lesson and writes state.
    pub first: (&'static str, &'static str),
    /// Lesson text (or an objective id) the first call's output must carry.
    pub from_lesson: &'static str,
    /// The state key the first call writes.
    pub state_key: &'static str,
    /// A second call, in the same session, that builds on the first call's state
    /// and records evidence for `objective`.
    pub follow_up: (&'static str, &'static str),
    /// The objective the follow-up records evidence for.
    pub objective: &'static str,
    /// Arguments the first call's tool must refuse before the plugin runs (the
    /// schema's type or a property it does not allow).
    pub bad_arguments: &'static str,
}

/// The session the calls run in: the Python tool seeds its problems from the
/// session and learner, and the follow-up answers the problem this session gets
/// (as the tool's own `cases.json` does).
pub const SESSION: &str = "s-1";

/// A drill step of the benchmark twins (the same logic in every language).
fn bench_tool(artifact: &'static str, path: &'static str) -> Scripted {
    Scripted {
        artifact,
        path,
        plugin: "bench-tool",
        first: ("bench_drill", "{}"),
        from_lesson: "The _____ tells how many equal parts the whole is split into.",
        state_key: "deck",
        follow_up: ("bench_drill", r#"{"answer":"the denominator"}"#),
        objective: "add-like",
        bad_arguments: r#"{"answer": 5}"#,
    }
}

pub fn js_bench_tool() -> Scripted {
    bench_tool("js-bench-tool", lectern_plugin_artifacts::JS_BENCH_TOOL)
}

pub fn python_bench_tool() -> Scripted {
    bench_tool(
        "python-bench-tool",
        lectern_plugin_artifacts::PYTHON_BENCH_TOOL,
    )
}

pub fn js_flash_cards() -> Scripted {
    Scripted {
        artifact: "js-flash-cards",
        path: lectern_plugin_artifacts::JS_FLASH_CARDS,
        plugin: "flash-cards",
        first: ("next_flash_card", "{}"),
        from_lesson: "The _____ tells how many equal parts the whole is split into.",
        state_key: "deck",
        follow_up: (
            "grade_flash_card",
            r#"{"answer":"I think it's the denominator"}"#,
        ),
        objective: "add-like",
        bad_arguments: r#"{"card": 1}"#,
    }
}

pub fn python_worked_problem() -> Scripted {
    Scripted {
        artifact: "python-worked-problem",
        path: lectern_plugin_artifacts::PYTHON_WORKED_PROBLEM,
        plugin: "worked-problem",
        first: ("new_worked_problem", "{}"),
        // The kind of problem follows the lesson's title, the objective its objectives.
        from_lesson: "add-like",
        state_key: "worked-problem",
        follow_up: ("check_worked_answer", r#"{"answer":"3/4"}"#),
        objective: "add-like",
        bad_arguments: r#"{"kind": "astrology"}"#,
    }
}

/// Every script-built teaching tool, in artifact order.
pub fn all() -> Vec<Scripted> {
    let mut all = Vec::new();
    macro_rules! push {
        ($name:ident) => {
            all.push($name());
        };
    }
    lectern_plugin_artifacts::foreach_scripted!(push);
    let listed: Vec<&str> = all.iter().map(|s| s.artifact).collect();
    let built: Vec<&str> = lectern_plugin_artifacts::SCRIPTED
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(listed, built);
    all
}
