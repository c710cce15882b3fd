//! `lectern plugin test [DIR]`: run the cases a plugin ships (`cases.json`)
//! against its built component, in the host's sandbox with the host's limits,
//! and print per call pass/fail with wall time and fuel.
//!
//! The case file format, the runner and the checks are `lectern-plugin-cases`;
//! this module finds the files and the component, and reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use lectern_plugin_cases::{Case, LoadedCases, RunOptions, Step, StepRun};
use lectern_runtime::engine::EngineConfig;
use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{HostConfig, Outcome, PluginHost, PluginVersion};

use super::{EXIT_PLUGIN_FAILED, EXIT_USAGE, TestArgs, cache_dir, fail, read_component};

/// The file `lectern plugin test DIR` looks for.
pub(crate) const CASE_FILE: &str = "cases.json";

/// Where the component is and how an author builds it.
struct ComponentSource {
    path: PathBuf,
    /// Where it came from, for messages.
    origin: &'static str,
    /// The command that builds it, run in the plugin directory.
    build: Option<String>,
}

pub(crate) async fn run(args: &TestArgs) -> i32 {
    match run_inner(args).await {
        Ok(status) | Err(status) => status,
    }
}

async fn run_inner(args: &TestArgs) -> Result<i32, i32> {
    let (case_path, plugin_dir) = find_case_file(&args.dir)?;
    let loaded = lectern_plugin_cases::load(&case_path)
        .map_err(|e| fail(EXIT_USAGE, e.code.as_str(), &e.message))?;
    let lessons = parse_lessons(&loaded)?;

    let source = find_component(args.component.as_deref(), &loaded, &plugin_dir)?;
    let bytes = match std::fs::read(&source.path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.component.is_none() => {
            let what_to_do = match &source.build {
                Some(build) => {
                    format!("build it first: `cd {} && {build}`", shown_dir(&plugin_dir))
                }
                None => "build the plugin first".to_owned(),
            };
            return Err(fail(
                EXIT_USAGE,
                "not_built",
                &format!(
                    "the component {} ({}) does not exist; {what_to_do} (or pass --component FILE.wasm)",
                    source.path.display(),
                    source.origin
                ),
            ));
        }
        Err(_) => read_component(&source.path)?,
    };
    if let Some(build) = &source.build {
        warn_if_stale(&source.path, &plugin_dir, build);
    }

    let host = test_host()?;
    let version = host.load(&bytes).await.map_err(|e| {
        fail(
            EXIT_PLUGIN_FAILED,
            e.code.as_str(),
            &format!(
                "{} was refused: {}; `lectern plugin check {}` shows the details",
                source.path.display(),
                e.message,
                source.path.display()
            ),
        )
    })?;
    if let Some(expected) = &loaded.plugin
        && expected != version.name()
    {
        return Err(fail(
            EXIT_PLUGIN_FAILED,
            "plugin_mismatch",
            &format!(
                "{} is for plugin `{expected}` but {} is plugin `{}`; check the component path or the file's `plugin` field",
                case_path.display(),
                source.path.display(),
                version.name()
            ),
        ));
    }

    println!(
        "testing {} {} ({}, {:.1} MiB, compiled in {:.0} ms)",
        version.name(),
        version.version(),
        source.path.display(),
        version.size_bytes() as f64 / (1024.0 * 1024.0),
        version.compile_time().as_secs_f64() * 1000.0
    );
    let calls: usize = loaded.cases.iter().map(|c| c.steps.len()).sum();
    println!(
        "running {} case(s), {calls} call(s), from {}",
        loaded.cases.len(),
        case_path.display()
    );
    println!();

    let mut summary = Summary::default();
    for (case, lesson) in loaded.cases.iter().zip(lessons) {
        run_case(&host, &version, case, lesson, &mut summary).await;
    }
    summary.print();
    if summary.failed_cases.is_empty() {
        Ok(0)
    } else {
        Err(fail(
            EXIT_PLUGIN_FAILED,
            "cases_failed",
            &format!(
                "{} of {} case(s) failed: {}; the lines marked FAIL above say what was expected and found",
                summary.failed_cases.len(),
                loaded.cases.len(),
                summary
                    .failed_cases
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// `DIR` may be the plugin directory or the case file itself.
fn find_case_file(given: &Path) -> Result<(PathBuf, PathBuf), i32> {
    if given.is_file() {
        let dir = match given.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        return Ok((given.to_path_buf(), dir));
    }
    if !given.is_dir() {
        return Err(fail(
            EXIT_USAGE,
            "not_found",
            &format!(
                "{} does not exist; give the plugin's directory (the one with cases.json) or its case file",
                given.display()
            ),
        ));
    }
    let file = given.join(CASE_FILE);
    if !file.is_file() {
        return Err(fail(
            EXIT_USAGE,
            "no_cases",
            &format!(
                "{} has no {CASE_FILE}; run this in the plugin's directory or give it (`lectern plugin test path/to/plugin`). \
                 A project made by `lectern plugin new` ships one; the format is in docs/authoring.md section 6.1",
                shown_dir(given)
            ),
        ));
    }
    Ok((file, given.to_path_buf()))
}

fn shown_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        dir.display().to_string()
    }
}

/// Every case's lesson as the host's `Subtopic`, checked before anything runs.
fn parse_lessons(loaded: &LoadedCases) -> Result<Vec<Arc<Subtopic>>, i32> {
    lectern_plugin_cases::lessons(loaded).map_err(|(case, e)| {
        fail(
            EXIT_USAGE,
            "case_file_invalid",
            &format!(
                "{}: the lesson of case `{case}` is not a subtopic ({e}); compare it with \
                 plugins/cases/lessons/adding-fractions.json",
                loaded.path.display(),
            ),
        )
    })
}

/// `--component`, else the file's `component`, else where the project's own
/// build puts it: `build.sh` (JavaScript, Python) writes `target/NAME.wasm`,
/// cargo writes `target/wasm32-wasip2/release/CRATE.wasm`.
fn find_component(
    given: Option<&Path>,
    loaded: &LoadedCases,
    dir: &Path,
) -> Result<ComponentSource, i32> {
    if let Some(path) = given {
        return Ok(ComponentSource {
            path: path.to_path_buf(),
            origin: "given with --component",
            build: None,
        });
    }
    if let Some(path) = &loaded.component {
        return Ok(ComponentSource {
            path: path.clone(),
            origin: "named by the case file",
            build: build_command(dir),
        });
    }
    if let Ok(script) = std::fs::read_to_string(dir.join("build.sh")) {
        let name = script_name(&script)
            .or_else(|| loaded.plugin.clone())
            .or_else(|| dir_name(dir));
        if let Some(name) = name {
            return Ok(ComponentSource {
                path: dir.join("target").join(format!("{name}.wasm")),
                origin: "where ./build.sh writes it",
                build: Some("./build.sh".into()),
            });
        }
    }
    if let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml"))
        && let Some(package) = cargo_package_name(&manifest)
    {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) if !t.is_empty() => dir.join(PathBuf::from(t)),
            _ => dir.join("target"),
        };
        return Ok(ComponentSource {
            path: target
                .join("wasm32-wasip2")
                .join("release")
                .join(format!("{}.wasm", package.replace('-', "_"))),
            origin: "where cargo writes a release build for wasm32-wasip2",
            build: build_command(dir),
        });
    }
    Err(fail(
        EXIT_USAGE,
        "no_component",
        &format!(
            "cannot tell where {}'s component is: it has no build.sh or Cargo.toml; pass --component FILE.wasm \
             or add \"component\": \"path/to/plugin.wasm\" to {CASE_FILE}",
            shown_dir(dir)
        ),
    ))
}

fn build_command(dir: &Path) -> Option<String> {
    if dir.join("build.sh").is_file() {
        Some("./build.sh".into())
    } else if dir.join("Cargo.toml").is_file() {
        Some("cargo build --target wasm32-wasip2 --release".into())
    } else {
        None
    }
}

fn dir_name(dir: &Path) -> Option<String> {
    let absolute = dir.canonicalize().ok()?;
    Some(absolute.file_name()?.to_string_lossy().into_owned())
}

/// The `NAME="…"` line of a template's build.sh.
fn script_name(script: &str) -> Option<String> {
    script.lines().find_map(|line| {
        let value = line.trim().strip_prefix("NAME=")?;
        let value = value.trim_matches('"').trim_matches('\'');
        (!value.is_empty() && !value.contains('$')).then(|| value.to_owned())
    })
}

/// The `name` of the `[package]` table; enough TOML for a manifest cargo reads.
fn cargo_package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            let value = value.trim().trim_matches('"').trim_matches('\'');
            return (!value.is_empty()).then(|| value.to_owned());
        }
    }
    None
}

/// A component older than the sources is probably not what the author means to
/// test; say so, but run it.
fn warn_if_stale(component: &Path, dir: &Path, build: &str) {
    let Ok(built) = std::fs::metadata(component).and_then(|m| m.modified()) else {
        return;
    };
    if let Some(newer) = newest_source(&dir.join("src"), built) {
        eprintln!(
            "note: {} changed after {} was built; rebuild with `{build}` to test the change",
            newer.display(),
            component.display()
        );
    }
}

fn newest_source(dir: &Path, than: SystemTime) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                if entry.file_name() != "__pycache__" {
                    stack.push(path);
                }
            } else if meta.modified().is_ok_and(|m| m > than) {
                return Some(path);
            }
        }
    }
    None
}

/// The server's host (same engine settings, limits and sandbox), with fuel
/// metered so the report can show it. The circuit breaker is the one thing left
/// out: a file with many cases that expect a fault would otherwise quarantine
/// the plugin half-way and make the rest `unavailable`.
fn test_host() -> Result<PluginHost, i32> {
    let mut config = HostConfig {
        engine: EngineConfig {
            max_concurrent_instances: 4,
            fuel: true,
            cache_dir: cache_dir(),
            ..EngineConfig::default()
        },
        ..HostConfig::default()
    };
    config.breaker.failure_threshold = u32::MAX;
    PluginHost::new(config).map_err(|e| {
        fail(
            EXIT_USAGE,
            "engine",
            &format!("cannot start the plugin engine: {e:#}"),
        )
    })
}

#[derive(Default)]
struct Summary {
    cases: usize,
    calls: usize,
    over_budget: usize,
    failed_cases: Vec<String>,
    /// (wall ms, where).
    slowest: Option<(f64, String)>,
    /// (fuel, where).
    hungriest: Option<(u64, String)>,
}

impl Summary {
    fn print(&self) {
        println!();
        let failed = self.failed_cases.len();
        println!(
            "{} case(s), {} call(s): {} case(s) passed, {failed} failed{}",
            self.cases,
            self.calls,
            self.cases - failed,
            if self.over_budget > 0 {
                format!(" ({} call(s) over budget)", self.over_budget)
            } else {
                String::new()
            }
        );
        if let Some((ms, at)) = &self.slowest {
            println!("slowest call  {ms:.2} ms ({at})");
        }
        if let Some((fuel, at)) = &self.hungriest {
            println!("most fuel     {} ({at})", grouped(*fuel));
        }
        if failed == 0 {
            println!("ok");
        }
    }
}

/// `1234567` -> `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn run_case(
    host: &PluginHost,
    version: &Arc<PluginVersion>,
    case: &Case,
    lesson: Arc<Subtopic>,
    summary: &mut Summary,
) {
    summary.cases += 1;
    let single = case.steps.len() == 1;
    if !single {
        println!("{}", case.name);
    }
    let mut case_passed = true;
    let options = RunOptions { wall_time: true };
    lectern_plugin_cases::run_case(host, version, case, lesson, options, |run| {
        case_passed &= run.mismatches.is_empty();
        report_step(case, single, run, summary);
    })
    .await;
    if !case_passed {
        summary.failed_cases.push(case.name.clone());
    }
}

/// Prints one call's verdict, cost and mismatches, and counts it.
fn report_step(case: &Case, single: bool, run: &StepRun<'_>, summary: &mut Summary) {
    let StepRun {
        step,
        record,
        wall_ms,
        fuel,
        mismatches,
        ..
    } = run;
    let (wall_ms, fuel) = (*wall_ms, *fuel);
    let over = over_budget(step, wall_ms, fuel);
    let label = if single {
        case.name.clone()
    } else {
        format!("  {}", step.name)
    };
    let mark = if mismatches.is_empty() {
        "PASS"
    } else {
        "FAIL"
    };
    println!("{mark}  {label}");
    println!("        {}", cost(step, wall_ms, fuel));
    for m in mismatches {
        println!("        - {m}");
    }
    if !mismatches.is_empty() && record.outcome != Outcome::Ok && !record.logs.is_empty() {
        for line in &record.logs {
            println!("        log: {}", line.message);
        }
    }

    let at = if single {
        case.name.clone()
    } else {
        format!("{} / {}", case.name, step.name)
    };
    summary.calls += 1;
    if over {
        summary.over_budget += 1;
    }
    if summary.slowest.as_ref().is_none_or(|(ms, _)| wall_ms > *ms) {
        summary.slowest = Some((wall_ms, at.clone()));
    }
    if let Some(fuel) = fuel
        && summary.hungriest.as_ref().is_none_or(|(f, _)| fuel > *f)
    {
        summary.hungriest = Some((fuel, at));
    }
}

fn over_budget(step: &Step, wall_ms: f64, fuel: Option<u64>) -> bool {
    step.budget.wall_ms.is_some_and(|b| wall_ms > b as f64)
        || matches!((step.budget.fuel, fuel), (Some(b), Some(f)) if f > b)
}

/// `0.84 ms (budget 250 ms), fuel 1,234,567 (budget 60,000,000)`.
fn cost(step: &Step, wall_ms: f64, fuel: Option<u64>) -> String {
    let wall = match step.budget.wall_ms {
        Some(b) => format!("{wall_ms:.2} ms (budget {b} ms)"),
        None => format!("{wall_ms:.2} ms"),
    };
    let fuel = match (fuel, step.budget.fuel) {
        (Some(f), Some(b)) => format!("fuel {} (budget {})", grouped(f), grouped(b)),
        (Some(f), None) => format!("fuel {}", grouped(f)),
        (None, _) => "fuel -".to_owned(),
    };
    format!("{wall}, {fuel}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_from_build_scripts_and_manifests() {
        assert_eq!(
            script_name("set -e\nNAME=\"flash-cards\"\nOUT=x\n").as_deref(),
            Some("flash-cards")
        );
        assert_eq!(script_name("NAME=\"$1\"\n"), None);
        assert_eq!(
            cargo_package_name(
                "[workspace]\nname = \"no\"\n[package]\nname = \"my-tool\"\nversion = \"0.1.0\"\n"
            )
            .as_deref(),
            Some("my-tool")
        );
        assert_eq!(cargo_package_name("[dependencies]\nname = \"x\"\n"), None);
    }

    #[test]
    fn groups_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(60_000_000), "60,000,000");
    }
}
