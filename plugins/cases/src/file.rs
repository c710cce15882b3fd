//! Reading a case file: parse, validate, resolve lessons and defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// The version of the case-file format this crate reads (the `format` field).
pub const FORMAT_VERSION: u32 = 1;
/// Session id of a case that names none.
pub const DEFAULT_SESSION_ID: &str = "test-session";
/// Learner id of a case that names none.
pub const DEFAULT_LEARNER_ID: &str = "test-learner";
/// Locale of a case that names none.
pub const DEFAULT_LOCALE: &str = "en-US";

/// The outcome names a case may expect (DESIGN §4, `Outcome::as_str` in the host).
pub(crate) const OUTCOMES: &[&str] = &[
    "ok",
    "plugin_error",
    "invalid_arguments",
    "deadline_exceeded",
    "memory_limit",
    "trap",
    "invalid_output",
    "unavailable",
];
/// The display kinds a case may expect (`none`: the call showed nothing).
pub(crate) const DISPLAY_TYPES: &[&str] = &[
    "none",
    "markdown",
    "question",
    "example",
    "score",
    "key_points",
];

/// What kind of problem a case file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseFileErrorCode {
    /// The file (or a lesson file it names) could not be read.
    Unreadable,
    /// The text is not JSON of the case-file shape (unknown field, wrong type …).
    Malformed,
    /// The JSON has the right shape but says something impossible (a duplicate
    /// case name, a lesson that does not exist, an invalid regular expression …).
    Invalid,
}

impl CaseFileErrorCode {
    /// Stable name, e.g. for a CLI's error output.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseFileErrorCode::Unreadable => "case_file_unreadable",
            CaseFileErrorCode::Malformed => "case_file_malformed",
            CaseFileErrorCode::Invalid => "case_file_invalid",
        }
    }
}

/// A case file that cannot be used, with a sentence saying what to fix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CaseFileError {
    /// What kind of problem.
    pub code: CaseFileErrorCode,
    /// What is wrong and what to do, naming the file (and case) concerned.
    pub message: String,
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> CaseFileError {
    CaseFileError {
        code: CaseFileErrorCode::Invalid,
        message: format!("{}: {message}", path.display()),
    }
}

/// What one call may cost; a call over budget fails its step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Wall-clock milliseconds from starting the sandbox to the result. The runner
    /// also uses twice this as the call's deadline, so an overrun is measured.
    pub wall_ms: Option<u64>,
    /// Fuel (WebAssembly work units) the call may use.
    pub fuel: Option<u64>,
}

/// The learner's mastery of one objective before a case's first call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasteryBefore {
    /// One of the lesson's objectives.
    pub objective_id: String,
    /// 0.0 to 1.0.
    pub score: f32,
    /// Pieces of evidence the score rests on.
    #[serde(default = "one")]
    pub evidence_count: u32,
}

fn one() -> u32 {
    1
}

/// The call context of a case (the subtopic id comes from its lesson).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Session id passed to the plugin.
    pub session_id: String,
    /// Learner id passed to the plugin.
    pub learner_id: String,
    /// BCP 47 locale passed to the plugin.
    pub locale: String,
    /// The plugin's configuration as JSON text (`{}` when none).
    pub config: String,
}

/// What one call must produce; see [`crate::check`]. Only what is listed is checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub(crate) outcome: Option<String>,
    pub(crate) error: Option<TextMatch>,
    pub(crate) content: Option<TextMatch>,
    pub(crate) display: Option<DisplayExpect>,
    pub(crate) state: Option<StateExpect>,
    pub(crate) progress: Option<ProgressExpect>,
    pub(crate) logs: Option<LogsExpect>,
}

impl Expect {
    /// The outcome the call must end with (`ok` unless the case says otherwise).
    pub fn outcome(&self) -> &str {
        self.outcome.as_deref().unwrap_or("ok")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextMatch {
    pub(crate) equals: Option<String>,
    #[serde(default)]
    pub(crate) contains: Vec<String>,
    #[serde(default)]
    pub(crate) not_contains: Vec<String>,
    pub(crate) matches: Option<String>,
    pub(crate) json: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisplayExpect {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) text: Option<TextMatch>,
    pub(crate) json: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateExpect {
    pub(crate) unchanged: Option<bool>,
    pub(crate) equals: Option<Map<String, Value>>,
    pub(crate) keys: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) absent: Vec<String>,
    #[serde(default)]
    pub(crate) values: BTreeMap<String, TextMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgressExpect {
    pub(crate) count: Option<usize>,
    #[serde(default)]
    pub(crate) includes: Vec<EvidenceExpect>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvidenceExpect {
    pub(crate) objective_id: String,
    pub(crate) score: Option<f64>,
    pub(crate) score_min: Option<f64>,
    pub(crate) score_max: Option<f64>,
    pub(crate) note: Option<TextMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsExpect {
    #[serde(default)]
    pub(crate) contains: Vec<String>,
    pub(crate) max_lines: Option<usize>,
}

/// One call of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// For the report: the step's own name, else `step N (tool)`.
    pub name: String,
    /// The tool to call.
    pub tool: String,
    /// The arguments as JSON text (`{}` when the file gives none).
    pub arguments: String,
    /// What the call must produce.
    pub expect: Expect,
    /// What the call may cost (step, else case, else file default).
    pub budget: Budget,
}

/// One scenario, ready to run: calls share state and evidence, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Unique within the file.
    pub name: String,
    /// The lesson (a subtopic object in the shape of the host's `Subtopic`).
    pub lesson: Value,
    /// The call context.
    pub context: Context,
    /// The plugin's state before the first call.
    pub state: BTreeMap<String, String>,
    /// The learner's mastery before the first call.
    pub mastery: Vec<MasteryBefore>,
    /// The calls, at least one.
    pub steps: Vec<Step>,
}

/// A whole case file, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCases {
    /// The file read.
    pub path: PathBuf,
    /// The plugin name `describe` must report, when the file says.
    pub plugin: Option<String>,
    /// The built component, when the file says (resolved against the file's folder).
    pub component: Option<PathBuf>,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(rename = "$schema")]
    _schema: Option<String>,
    format: u32,
    plugin: Option<String>,
    component: Option<String>,
    #[serde(default)]
    lessons: BTreeMap<String, Value>,
    #[serde(default)]
    defaults: RawDefaults,
    cases: Vec<RawCase>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    lesson: Option<Value>,
    context: Option<RawContext>,
    budget: Option<Budget>,
}

#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    session_id: Option<String>,
    learner_id: Option<String>,
    locale: Option<String>,
    config: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(rename = "description")]
    _description: Option<String>,
    lesson: Option<Value>,
    context: Option<RawContext>,
    #[serde(default)]
    state: Map<String, Value>,
    #[serde(default)]
    mastery: Vec<MasteryBefore>,
    tool: Option<String>,
    arguments: Option<Map<String, Value>>,
    expect: Option<Expect>,
    budget: Option<Budget>,
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    tool: String,
    arguments: Option<Map<String, Value>>,
    expect: Option<Expect>,
    budget: Option<Budget>,
}

/// Read and resolve the case file at `path` (lesson paths are relative to it).
pub fn load(path: &Path) -> Result<LoadedCases, CaseFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| CaseFileError {
        code: CaseFileErrorCode::Unreadable,
        message: format!(
            "{}: cannot read the case file ({e}); give the plugin directory or its cases.json",
            path.display()
        ),
    })?;
    parse(path, &text)
}

/// Resolve case-file `text` as if it were read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<LoadedCases, CaseFileError> {
    let raw: RawFile = serde_json::from_str(text).map_err(|e| CaseFileError {
        code: CaseFileErrorCode::Malformed,
        message: format!(
            "{}: {e}; compare it with plugins/cases/cases.schema.json",
            path.display()
        ),
    })?;
    if raw.format != FORMAT_VERSION {
        return Err(invalid(
            path,
            format!(
                "format {} is not supported (this Lectern reads format {FORMAT_VERSION})",
                raw.format
            ),
        ));
    }
    if raw.cases.is_empty() {
        return Err(invalid(path, "the file has no cases; add at least one"));
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut lessons = BTreeMap::new();
    for (name, source) in &raw.lessons {
        lessons.insert(
            name.clone(),
            lesson_source(path, &dir, source, &format!("lesson `{name}`"))?,
        );
    }
    let mut names = BTreeSet::new();
    let mut cases = Vec::with_capacity(raw.cases.len());
    for case in raw.cases {
        if case.name.trim().is_empty() {
            return Err(invalid(path, "a case has an empty name; name every case"));
        }
        if !names.insert(case.name.clone()) {
            return Err(invalid(
                path,
                format!("two cases are named `{}`; names must be unique", case.name),
            ));
        }
        cases.push(resolve_case(path, &dir, &lessons, &raw.defaults, case)?);
    }
    Ok(LoadedCases {
        path: path.to_path_buf(),
        plugin: raw.plugin,
        component: raw.component.map(|c| dir.join(c)),
        cases,
    })
}

fn lesson_source(
    path: &Path,
    dir: &Path,
    source: &Value,
    what: &str,
) -> Result<Value, CaseFileError> {
    let Some(object) = source.as_object() else {
        return Err(invalid(
            path,
            format!("{what} must be an object (a subtopic or {{\"path\": …}})"),
        ));
    };
    if let Some(file) = object.get("path") {
        let Some(file) = file.as_str().filter(|_| object.len() == 1) else {
            return Err(invalid(
                path,
                format!("{what}: `path` must be a string and the only field"),
            ));
        };
        let full = dir.join(file);
        let text = std::fs::read_to_string(&full).map_err(|e| CaseFileError {
            code: CaseFileErrorCode::Unreadable,
            message: format!(
                "{}: {what}: cannot read {} ({e})",
                path.display(),
                full.display()
            ),
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| CaseFileError {
            code: CaseFileErrorCode::Malformed,
            message: format!(
                "{}: {what}: {} is not JSON ({e})",
                path.display(),
                full.display()
            ),
        })?;
        return check_subtopic(path, value, what);
    }
    check_subtopic(path, source.clone(), what)
}

fn check_subtopic(path: &Path, value: Value, what: &str) -> Result<Value, CaseFileError> {
    for field in ["id", "topic_id", "title"] {
        if !value.get(field).is_some_and(Value::is_string) {
            return Err(invalid(
                path,
                format!(
                    "{what} has no `{field}`; a lesson is a subtopic with at least id, topic_id and title"
                ),
            ));
        }
    }
    Ok(value)
}

fn resolve_lesson(
    path: &Path,
    dir: &Path,
    lessons: &BTreeMap<String, Value>,
    reference: &Value,
    case: &str,
) -> Result<Value, CaseFileError> {
    match reference {
        Value::String(name) => lessons.get(name).cloned().ok_or_else(|| {
            invalid(
                path,
                format!("case `{case}` names lesson `{name}`, which `lessons` does not define"),
            )
        }),
        other => lesson_source(path, dir, other, &format!("the lesson of case `{case}`")),
    }
}

fn resolve_case(
    path: &Path,
    dir: &Path,
    lessons: &BTreeMap<String, Value>,
    defaults: &RawDefaults,
    case: RawCase,
) -> Result<Case, CaseFileError> {
    let name = case.name;
    let lesson_ref = case
        .lesson
        .as_ref()
        .or(defaults.lesson.as_ref())
        .ok_or_else(|| {
            invalid(
                path,
                format!("case `{name}` has no lesson and the file sets no default lesson"),
            )
        })?;
    let lesson = resolve_lesson(path, dir, lessons, lesson_ref, &name)?;

    let base = defaults.context.clone().unwrap_or_default();
    let own = case.context.unwrap_or_default();
    let config = own.config.or(base.config).unwrap_or_default();
    let context = Context {
        session_id: own
            .session_id
            .or(base.session_id)
            .unwrap_or_else(|| DEFAULT_SESSION_ID.into()),
        learner_id: own
            .learner_id
            .or(base.learner_id)
            .unwrap_or_else(|| DEFAULT_LEARNER_ID.into()),
        locale: own
            .locale
            .or(base.locale)
            .unwrap_or_else(|| DEFAULT_LOCALE.into()),
        config: Value::Object(config).to_string(),
    };

    let state = case
        .state
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect();

    let case_budget = case.budget.or(defaults.budget).unwrap_or_default();
    let raw_steps = match (case.steps, case.tool) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                path,
                format!("case `{name}` has both `tool` and `steps`; use one"),
            ));
        }
        (None, None) => {
            return Err(invalid(
                path,
                format!("case `{name}` has neither `tool` nor `steps`"),
            ));
        }
        (Some(steps), None) => {
            if case.arguments.is_some() || case.expect.is_some() {
                return Err(invalid(
                    path,
                    format!(
                        "case `{name}` has `steps`; put `arguments` and `expect` inside each step"
                    ),
                ));
            }
            if steps.is_empty() {
                return Err(invalid(
                    path,
                    format!("case `{name}` has an empty `steps` list"),
                ));
            }
            steps
        }
        (None, Some(tool)) => vec![RawStep {
            name: None,
            tool,
            arguments: case.arguments,
            expect: case.expect,
            budget: None,
        }],
    };
    let count = raw_steps.len();
    let mut steps = Vec::with_capacity(count);
    for (index, step) in raw_steps.into_iter().enumerate() {
        let label = match (step.name, count) {
            (Some(n), _) => n,
            (None, 1) => step.tool.clone(),
            (None, _) => format!("step {} ({})", index + 1, step.tool),
        };
        let expect = step.expect.unwrap_or_default();
        validate_expect(path, &name, &label, &expect)?;
        steps.push(Step {
            name: label,
            tool: step.tool,
            arguments: Value::Object(step.arguments.unwrap_or_default()).to_string(),
            expect,
            budget: step.budget.unwrap_or(case_budget),
        });
    }
    Ok(Case {
        name,
        lesson,
        context,
        state,
        mastery: case.mastery,
        steps,
    })
}

fn validate_expect(
    path: &Path,
    case: &str,
    step: &str,
    expect: &Expect,
) -> Result<(), CaseFileError> {
    let at = |message: String| invalid(path, format!("case `{case}`, {step}: {message}"));
    if let Some(outcome) = &expect.outcome
        && !OUTCOMES.contains(&outcome.as_str())
    {
        return Err(at(format!(
            "outcome `{outcome}` is not one of {}",
            OUTCOMES.join(", ")
        )));
    }
    let mut texts: Vec<&TextMatch> = Vec::new();
    texts.extend(&expect.error);
    texts.extend(&expect.content);
    if let Some(display) = &expect.display {
        if let Some(kind) = &display.kind
            && !DISPLAY_TYPES.contains(&kind.as_str())
        {
            return Err(at(format!(
                "display type `{kind}` is not one of {}",
                DISPLAY_TYPES.join(", ")
            )));
        }
        texts.extend(&display.text);
        if let Some(pointers) = &display.json {
            validate_pointers(pointers).map_err(at)?;
        }
    }
    if let Some(state) = &expect.state {
        texts.extend(state.values.values());
    }
    if let Some(progress) = &expect.progress {
        texts.extend(progress.includes.iter().filter_map(|e| e.note.as_ref()));
    }
    for text in texts {
        if let Some(pattern) = &text.matches {
            regex::Regex::new(pattern)
                .map_err(|e| at(format!("`matches` is not a valid regular expression: {e}")))?;
        }
        if let Some(pointers) = &text.json {
            validate_pointers(pointers).map_err(at)?;
        }
    }
    Ok(())
}

fn validate_pointers(pointers: &Map<String, Value>) -> Result<(), String> {
    for pointer in pointers.keys() {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(format!(
                "`{pointer}` is not a JSON Pointer; write it as `/{pointer}` (or \"\" for the whole document)"
            ));
        }
    }
    Ok(())
}
