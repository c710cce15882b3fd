//! `lectern`: one binary for operators and curriculum authors.

use clap::{Parser, Subcommand};

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
    /// Run the HTTP API server.
    Serve(Box<lectern_api::config::Config>),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("lectern {}", env!("CARGO_PKG_VERSION")),
        Command::Serve(config) => {
            tokio::runtime::Runtime::new()?.block_on(lectern_api::serve::run(*config))?
        }
    }
    Ok(())
}
