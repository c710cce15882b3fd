//! Runs the fake Realtime server on its own, for browser tests:
//! `fake-realtime --port 9100 --script lesson` (or a JSON script file).

use clap::Parser;
use lectern_fake_realtime::script::{BUILTIN_NAMES, builtin};
use lectern_fake_realtime::{FakeRealtime, Options, Script};

/// A scripted stand-in for the OpenAI Realtime API (GA protocol).
#[derive(Parser)]
#[command(name = "fake-realtime")]
struct Args {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 9100)]
    port: u16,
    /// A built-in script name (lesson, monologue, silent) or a JSON script file.
    #[arg(long, default_value = "lesson")]
    script: String,
    /// Refuse connections whose bearer token is not this key.
    #[arg(long)]
    require_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let script: Script = match builtin(&args.script) {
        Some(s) => s,
        None => {
            let text = std::fs::read_to_string(&args.script).map_err(|e| {
                anyhow::anyhow!(
                    "script '{}' is neither a built-in ({}) nor a readable file: {e}",
                    args.script,
                    BUILTIN_NAMES.join(", ")
                )
            })?;
            serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("script file '{}' is not a valid script: {e}", args.script)
            })?
        }
    };
    let options = Options {
        require_key: args.require_key,
        ..Options::default()
    };
    let fake = FakeRealtime::start_with(script, options, args.port).await?;
    println!("fake-realtime listening on {}", fake.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
