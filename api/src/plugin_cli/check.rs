//! `lectern plugin check FILE.wasm`.
//!
//! Validates the component as the server would (contract version, imports,
//! compilation, `describe`, names, schemas), then smoke-calls every tool whose
//! schema accepts `{}` against the sample lesson: a tool that crashes, hangs,
//! exhausts memory or returns an invalid output fails the check.

use std::sync::Arc;
use std::time::Instant;

use lectern_runtime::plugin::{Outcome, ToolCall};

use super::{CheckArgs, EXIT_PLUGIN_FAILED, EXIT_USAGE, fail, local_host, read_component};

pub(crate) async fn run(args: &CheckArgs) -> i32 {
    let bytes = match read_component(&args.file) {
        Ok(b) => b,
        Err(status) => return status,
    };
    // No compile cache: the compile time printed is the real one.
    let host = match local_host(None, None) {
        Ok(h) => h,
        Err(status) => return status,
    };
    let started = Instant::now();
    let installed = match host.install_and_activate(&bytes).await {
        Ok(v) => v,
        Err(e) => {
            return fail(
                EXIT_PLUGIN_FAILED,
                e.code.as_str(),
                &format!("{} was refused: {}", args.file.display(), e.message),
            );
        }
    };
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let info = installed.info;
    let lesson = match super::call::sample_lesson() {
        Ok(l) => Arc::new(l),
        Err(status) => return status,
    };
    let mut smoke = Vec::new();
    for tool in &info.manifest.tools {
        let call = ToolCall::new(&tool.name, "{}", "check", lesson.clone());
        smoke.push(host.call_plugin(&info.name, None, "{}", call).await);
    }
    let faulty: Vec<&lectern_runtime::plugin::CallRecord> = smoke
        .iter()
        .filter(|r| r.outcome.is_fault() || r.outcome == Outcome::InvalidOutput)
        .collect();
    let status = match faulty.first() {
        None => 0,
        Some(r) => fail(
            EXIT_PLUGIN_FAILED,
            r.outcome.as_str(),
            &format!(
                "tool `{}` failed its smoke call with {{}}: {}; run it with `lectern plugin call` to see more",
                r.tool,
                r.error.as_deref().unwrap_or("")
            ),
        ),
    };
    if args.json {
        let report = serde_json::json!({ "plugin": info, "smoke_calls": smoke });
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(EXIT_USAGE, "output", &e.to_string()),
        }
        return status;
    }
    println!(
        "ok: {} {} is a valid teaching tool",
        info.name, info.version
    );
    println!("  file              {}", args.file.display());
    println!("  contract version  lectern:tool@{}", info.contract_version);
    println!(
        "  size              {} bytes ({:.1} KiB)",
        info.size_bytes,
        info.size_bytes as f64 / 1024.0
    );
    println!("  sha256            {}", info.digest);
    println!("  compile time      {:.1} ms", info.compile_ms);
    println!("  load time         {load_ms:.1} ms (checks, compile, link, describe)");
    println!("  description       {}", info.manifest.description);
    println!(
        "  imports           {}",
        if info.imports.is_empty() {
            "none".to_owned()
        } else {
            info.imports.join(", ")
        }
    );
    if !info.manifest.capabilities.is_empty() {
        println!(
            "  capabilities      {} (requested; none is granted by this host)",
            info.manifest.capabilities.join(", ")
        );
    }
    println!("  tools ({}):", info.manifest.tools.len());
    for tool in &info.manifest.tools {
        println!("    {}", tool.name);
        println!("      {}", tool.description);
        let schema = serde_json::to_string_pretty(&tool.parameters).unwrap_or_default();
        for line in schema.lines() {
            println!("      {line}");
        }
    }
    println!("  smoke calls (arguments {{}}, sample lesson):");
    for r in &smoke {
        let what = match r.outcome {
            Outcome::InvalidArguments => "skipped: needs arguments".to_owned(),
            Outcome::Ok => format!(
                "ok in {:.2} ms, fuel {}",
                r.duration_us as f64 / 1000.0,
                r.fuel_used.map_or("-".to_owned(), |f| f.to_string())
            ),
            other => format!("{other}: {}", r.error.as_deref().unwrap_or("")),
        };
        println!("    {:<24} {what}", r.tool);
    }
    status
}
