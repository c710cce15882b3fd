//! `lectern plugin …`: tools for curriculum authors who write teaching-tool
//! plugins. Everything runs locally: no server, no model.
//!
//! - `new NAME --lang rust|js|python`: a plugin project that builds first time;
//! - `check FILE.wasm`: validate a component the way the server would;
//! - `call FILE.wasm TOOL 'JSON'`: run one call against a lesson fixture;
//! - `test [DIR]`: run the plugin's `cases.json` and report cost per call.
//!
//! Exit status: 0 when everything worked, 1 when the plugin was refused, the
//! call did not end `ok` or a test case failed, 2 when the command itself could not run (a missing
//! file, a lesson fixture that is not a subtopic …). Every error names a code and
//! says what to do.

mod call;
mod check;
mod new;
mod test;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use lectern_runtime::engine::EngineConfig;
use lectern_runtime::plugin::{HostConfig, PluginHost};

/// Exit status when the plugin was refused or the call did not end `ok`.
pub const EXIT_PLUGIN_FAILED: i32 = 1;
/// Exit status when the command could not run.
pub const EXIT_USAGE: i32 = 2;

/// Plugin author tools.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a new teaching-tool project in Rust, JavaScript or Python (one
    /// working tool, its build, unit tests and test cases).
    New(NewArgs),
    /// Validate a component: contract version, imports, tools and their schemas;
    /// print them with its size and compile time.
    Check(CheckArgs),
    /// Run one tool call against a lesson fixture and print the output, display,
    /// outcome, wall time and fuel used.
    Call(CallArgs),
    /// Run the test cases a plugin ships (its cases.json) against the built
    /// component; print pass/fail, wall time and fuel per call. Fails when a
    /// case fails or goes over its budget.
    Test(TestArgs),
}

/// `lectern plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Plugin name, kebab-case (e.g. `flash-cards`); also the directory created.
    pub name: String,
    /// Directory to create the project in.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Language of the project: `rust` (built with cargo), `js` (JavaScript,
    /// built with jco/componentize-js from npm) or `python` (built with
    /// componentize-py from PyPI).
    #[arg(long, default_value = "rust", value_parser = ["rust", "js", "python"])]
    pub lang: String,
}

/// `lectern plugin test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The plugin's directory (holding cases.json), or the case file itself.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The component to test, instead of the one the case file names or the
    /// project's build writes (`target/NAME.wasm` for JavaScript and Python,
    /// `target/wasm32-wasip2/release/CRATE.wasm` for Rust).
    #[arg(long)]
    pub component: Option<PathBuf>,
}

/// `lectern plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The component (`.wasm`), e.g. `target/wasm32-wasip2/release/my_tool.wasm`.
    pub file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lectern plugin call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The component (`.wasm`).
    pub file: PathBuf,
    /// The tool to call (one of the names `lectern plugin check` lists).
    pub tool: String,
    /// The arguments, as JSON text (e.g. '{"count": 2}').
    #[arg(default_value = "{}")]
    pub arguments: String,
    /// A lesson fixture: one subtopic as JSON (id, topic_id, title, summary,
    /// content, objectives, key_points, examples, level). A built-in sample
    /// lesson about photosynthesis is used when omitted.
    #[arg(long)]
    pub lesson: Option<PathBuf>,
    /// A JSON object of state (key -> value) read before the call and written back
    /// after a successful one; created if missing.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The plugin's configuration for the subtopic, as a JSON object.
    #[arg(long, default_value = "{}")]
    pub config: String,
    /// Wall-clock deadline for the call, in milliseconds.
    #[arg(long)]
    pub deadline_ms: Option<u64>,
    /// Print the call record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run a plugin command; returns the process exit status.
pub fn run(command: PluginCommand) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(EXIT_USAGE, "runtime", &format!("cannot start: {e}")),
    };
    let status = match command {
        PluginCommand::New(args) => new::run(&args),
        PluginCommand::Check(args) => runtime.block_on(check::run(&args)),
        PluginCommand::Call(args) => runtime.block_on(call::run(&args)),
        PluginCommand::Test(args) => runtime.block_on(test::run(&args)),
    };
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    status
}

/// Print `error[code]: message` on stderr and return `status`.
pub(crate) fn fail(status: i32, code: &str, message: &str) -> i32 {
    eprintln!("error[{code}]: {message}");
    status
}

/// Read a component file, or explain what to do.
pub(crate) fn read_component(path: &Path) -> Result<Vec<u8>, i32> {
    std::fs::read(path).map_err(|e| {
        fail(
            EXIT_USAGE,
            "file_unreadable",
            &format!(
                "cannot read {}: {e}. Check the path; a Rust plugin's component is built with \
                 `cargo build --target wasm32-wasip2 --release` into target/wasm32-wasip2/release/",
                path.display()
            ),
        )
    })
}

/// A host for one local run: a small pool, fuel metering on.
pub(crate) fn local_host(
    cache_dir: Option<PathBuf>,
    deadline_ms: Option<u64>,
) -> Result<PluginHost, i32> {
    let mut config = HostConfig {
        engine: EngineConfig {
            max_concurrent_instances: 4,
            fuel: true,
            cache_dir,
            ..EngineConfig::default()
        },
        ..HostConfig::default()
    };
    if let Some(ms) = deadline_ms {
        config.limits.call_deadline_ms = ms.max(1);
    }
    PluginHost::new(config).map_err(|e| {
        fail(
            EXIT_USAGE,
            "engine",
            &format!("cannot start the plugin engine: {e:#}"),
        )
    })
}

/// Where `plugin call` keeps compiled components between runs.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("lectern").join("compiled"))
}
