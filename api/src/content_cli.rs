//! `lectern migrate` and `lectern content import|export FILE`, plus loading the
//! sample curriculum into an empty database when the server first starts.
//!
//! The database is chosen as for `lectern serve`: `--database-url` / `DATABASE_URL`,
//! else SQLite at `<data-dir>/lectern.db`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lectern_runtime::curriculum::{Curriculum, Format};
use lectern_runtime::store::{NewAuditEntry, Store};

/// The sample curriculum shipped in the binary (two topics, six subtopics, every
/// bundled teaching tool bound somewhere).
pub const SAMPLE_CURRICULUM_YAML: &str = include_str!("../curriculum/sample.yaml");

/// The sample curriculum, parsed.
pub fn sample_curriculum() -> anyhow::Result<Curriculum> {
    Curriculum::parse(SAMPLE_CURRICULUM_YAML, Format::Yaml)
        .context("the bundled sample curriculum is invalid")
}

/// Where the database is.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Directory of the SQLite database.
    #[arg(long, env = "LECTERN_DATA_DIR", default_value = lectern_api::config::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); defaults to SQLite at
    /// `<data-dir>/lectern.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    async fn open(&self) -> anyhow::Result<Store> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("lectern.db").display()),
        };
        let store = Store::connect(&url)
            .await
            .context("opening the database (check DATABASE_URL or --data-dir)")?;
        store
            .migrate()
            .await
            .context("applying database migrations")?;
        Ok(store)
    }
}

/// `lectern content …`
#[derive(Debug, clap::Subcommand)]
pub enum ContentCommand {
    /// Import a curriculum document (YAML, or JSON when the file ends in .json):
    /// topics and subtopics are created or replaced by id, all or nothing.
    Import {
        /// The document.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Export the whole curriculum to a file (JSON when it ends in .json, else YAML).
    Export {
        /// Where to write; `-` for standard output.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Yaml,
    }
}

/// Runs `lectern migrate`.
pub async fn migrate(db: &DatabaseArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    store.close().await;
    println!("migrations applied");
    Ok(())
}

/// Runs `lectern content …`.
pub async fn run(command: ContentCommand) -> anyhow::Result<()> {
    match command {
        ContentCommand::Import { file, db } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let doc = match Curriculum::parse(&text, format_of(&file)) {
                Ok(doc) => doc,
                Err(e) => bail!("{}: {e}", file.display()),
            };
            let store = db.open().await?;
            let result = store.content().import_curriculum(&doc).await;
            let summary = match result {
                Ok(summary) => summary,
                Err(e) => {
                    store.close().await;
                    bail!(
                        "{}: import refused, nothing was written: {e}",
                        file.display()
                    );
                }
            };
            let entry = NewAuditEntry {
                actor: "cli".into(),
                action: "curriculum.import".into(),
                target: "curriculum".into(),
                details: serde_json::json!({ "file": file.display().to_string(), "topics": summary.topics, "subtopics": summary.subtopics }),
            };
            store
                .audit()
                .append(&entry)
                .await
                .context("writing the audit log")?;
            store.close().await;
            println!(
                "imported {} topics, {} subtopics, {} tool bindings from {}",
                summary.topics,
                summary.subtopics,
                summary.tool_bindings,
                file.display()
            );
            Ok(())
        }
        ContentCommand::Export { file, db } => {
            let store = db.open().await?;
            let doc = store.content().export_curriculum().await;
            store.close().await;
            let text = doc
                .context("reading the curriculum")?
                .to_text(format_of(&file));
            if file.as_os_str() == "-" {
                print!("{text}");
            } else {
                std::fs::write(&file, text)
                    .with_context(|| format!("writing {}", file.display()))?;
                eprintln!("exported the curriculum to {}", file.display());
            }
            Ok(())
        }
    }
}

/// Loads the sample curriculum when the database has no topic yet (first start).
pub async fn seed_sample(database_url: &str) -> anyhow::Result<()> {
    let doc = sample_curriculum()?;
    let store = Store::connect(database_url)
        .await
        .context("opening the database (check DATABASE_URL or --data-dir)")?;
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    let seeded = store
        .seed_if_empty(&doc)
        .await
        .context("loading the sample curriculum");
    store.close().await;
    if seeded? {
        tracing::info!("empty database: loaded the sample curriculum");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_curriculum_is_valid_and_binds_every_bundled_tool() {
        let doc = super::sample_curriculum().unwrap();
        assert!(doc.topics.len() >= 2);
        assert!(doc.subtopics().count() >= 6);
        for plugin in [
            "check-understanding",
            "provide-example",
            "quiz",
            "summarize-key-points",
            "flash-cards",
            "worked-problem",
        ] {
            assert!(
                doc.subtopics()
                    .any(|(_, s)| s.tools.iter().any(|b| b.plugin == plugin)),
                "{plugin}"
            );
        }
        for (_, s) in doc.subtopics() {
            assert!((2..=4).contains(&s.objectives.len()), "{}", s.id);
            assert!((3..=6).contains(&s.key_points.len()), "{}", s.id);
            assert!((2..=3).contains(&s.examples.len()), "{}", s.id);
            assert!(s.content.len() > 600, "{} has real content", s.id);
        }
    }
}
