//! `lectern`: one binary for operators and curriculum authors.

use clap::{Parser, Subcommand};

mod content_cli;
mod plugin_cli;

/// Lectern: a runtime for AI voice tutors.
#[derive(Debug, Parser)]
#[command(name = "lectern", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version and exit.
    Version,
    /// Run the HTTP API server (and the LiveKit agent worker when LiveKit is configured).
    Serve(Box<lectern_api::config::Config>),
    /// Run only the LiveKit agent worker: register with LiveKit and teach the
    /// lessons it dispatches (needs the `livekit` cargo feature).
    Worker(Box<lectern_api::config::Config>),
    /// Apply database migrations and exit.
    Migrate(content_cli::DatabaseArgs),
    /// Import or export the curriculum.
    #[command(subcommand)]
    Content(content_cli::ContentCommand),
    /// Plugin author tools: create, check and call teaching-tool plugins.
    #[command(subcommand)]
    Plugin(plugin_cli::PluginCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Plugin(command) => std::process::exit(plugin_cli::run(command)),
        Command::Version => println!("lectern {}", env!("CARGO_PKG_VERSION")),
        Command::Serve(config) => tokio::runtime::Runtime::new()?.block_on(async {
            content_cli::seed_sample(config.effective_database_url().expose()).await?;
            lectern_api::serve::run(*config).await
        })?,
        Command::Worker(config) => {
            tokio::runtime::Runtime::new()?.block_on(lectern_api::worker::run(*config))?
        }
        Command::Migrate(db) => {
            tokio::runtime::Runtime::new()?.block_on(content_cli::migrate(&db))?
        }
        Command::Content(command) => {
            tokio::runtime::Runtime::new()?.block_on(content_cli::run(command))?
        }
    }
    Ok(())
}
