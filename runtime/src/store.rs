//! Persistent storage: curriculum content, lesson history, learner progress, plugin
//! versions and the audit log, in SQLite (the default) or PostgreSQL.
//!
//! # One repository layer for two databases
//!
//! Every query is written once and runs through [`sqlx::Any`], which picks the SQLite
//! or PostgreSQL driver from the URL at run time. The alternative, repositories
//! generic over `sqlx::Database`, would need trait bounds for every type bound and
//! decoded on every function and still two copies of any SQL that differs; Any keeps
//! the code plain at the price of a narrower type set. So the schema only uses types
//! both drivers decode through Any (64-bit integers, doubles, text, blobs): timestamps
//! are Unix milliseconds in `*_at_ms` columns, JSON is text, flags are 0/1 integers.
//! Placeholders are `$1, $2 …`, which both drivers understand. The two migration
//! folders (`migrations/sqlite`, `migrations/postgres`) describe the same tables.
//!
//! # Durability
//!
//! A write that has returned `Ok` is on disk. SQLite runs in WAL mode with
//! `synchronous = FULL` by default: WAL with `NORMAL` would already survive the
//! process being killed (the OS holds the written pages), but not a power cut, and a
//! message the API acknowledged must not depend on that distinction. The cost is one
//! fsync of the WAL per transaction; [`SqliteSync::Normal`] is there for operators
//! who accept the trade (see the store benchmark for figures). PostgreSQL commits are
//! durable with its default `synchronous_commit = on`.
//!
//! SQLite allows one writer at a time, so writes go through a pool of a single
//! connection (no `SQLITE_BUSY` between our own writers) while reads use a separate
//! pool; on PostgreSQL both are the same pool.
//!
//! # Repositories
//!
//! [`Store`] is cheap to clone and hands out one repository per concern:
//! [`Store::content`], [`Store::history`], [`Store::progress`], [`Store::plugins`],
//! [`Store::audit`].

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

mod audit;
mod content;
mod history;
mod plugins;
mod progress;

pub use crate::curriculum::ToolBinding;
pub use audit::{AuditEntry, AuditRepo, NewAuditEntry};
pub use content::{
    ContentRepo, ImportSummary, NewSubtopic, NewTopic, SubtopicRecord, SubtopicSummary, TopicRecord,
};
pub use history::{
    ConversationFilter, ConversationRecord, ConversationStatus, HistoryRepo, MessageRecord,
    MessageRole, NewConversation, NewMessage, NewToolInvocation, Page, ToolInvocationRecord,
    parse_conversation_cursor,
};
pub use plugins::{NewPluginVersion, PluginRecord, PluginRepo, PluginVersionRecord, VersionStatus};
pub use progress::{
    Evidence, LearnerDeletion, MASTERY_THRESHOLD, Mastery, ObjectiveProgress, ProgressRepo,
    RECENT_EVIDENCE_WEIGHT, SessionAnalytics, UserProfile,
};

/// Where the database lives when nothing is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/lectern.db";

/// Connections in the read pool (and the whole pool on PostgreSQL).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a query waits for a free connection before failing.
pub const ACQUIRE_TIMEOUT_MS: u64 = 10_000;

/// How long SQLite waits for a lock held by another process (for instance
/// `lectern content import` while the server runs) before giving up.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

/// Largest page any list query returns, whatever the caller asks for.
pub const MAX_PAGE_LIMIT: i64 = 500;

/// Page size when the caller does not say.
pub const DEFAULT_PAGE_LIMIT: i64 = 50;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one Lectern can use.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `topic "fractions"`.
        what: String,
    },
    /// A write would break a uniqueness rule (an id or version already taken).
    #[error("{0}")]
    Conflict(String),
    /// A write refers to something that does not exist or breaks a rule of the schema.
    #[error("{0}")]
    Invalid(String),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure (connection lost, disk full …).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A JSON column could not be read back.
    #[error("corrupt JSON in column {column}: {source}")]
    Json {
        /// The column.
        column: &'static str,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// Creating the data directory failed.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            // Map constraint violations to errors callers can act on; the codes are
            // the SQLSTATEs on PostgreSQL and the extended result codes on SQLite.
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(format!(
                        "already exists ({})",
                        db.constraint().unwrap_or("unique constraint")
                    ));
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::Invalid(
                        "refers to something that does not exist".to_owned(),
                    );
                }
                sqlx::error::ErrorKind::CheckViolation
                | sqlx::error::ErrorKind::NotNullViolation => {
                    return StoreError::Invalid(format!("value rejected by the schema: {db}"));
                }
                _ => {}
            }
        }
        StoreError::Database(err)
    }
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file, WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// SQLite's `synchronous` setting (ignored on PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// fsync the WAL at every commit: an acknowledged write survives a power cut.
    #[default]
    Full,
    /// fsync only at checkpoints: survives the process being killed, not a power cut.
    Normal,
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the read pool (the whole pool on PostgreSQL).
    pub max_connections: u32,
    /// SQLite durability level.
    pub sqlite_sync: SqliteSync,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            sqlite_sync: SqliteSync::Full,
        }
    }
}

/// The database: cheap to clone, shared by the API and lesson sessions.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Reads (and, on PostgreSQL, everything).
    read: AnyPool,
    /// Writes: a single connection on SQLite, the read pool on PostgreSQL.
    write: AnyPool,
}

impl Store {
    /// Opens the database at `database_url` with default options.
    ///
    /// `sqlite://PATH` (or `sqlite:PATH`) opens or creates a SQLite file, creating its
    /// directory if needed; `postgres://…` (or `postgresql://…`) connects to
    /// PostgreSQL. Migrations are not applied: call [`Store::migrate`].
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with(database_url, StoreOptions::default()).await
    }

    /// Opens the database with explicit options.
    pub async fn connect_with(
        database_url: &str,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(database_url)?;
        let timeout = Duration::from_millis(ACQUIRE_TIMEOUT_MS);
        match backend {
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(database_url)
                    .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(timeout)
                    .connect_with(opts)
                    .await?;
                Ok(Store {
                    backend,
                    read: pool.clone(),
                    write: pool,
                })
            }
            Backend::Sqlite => {
                let url = sqlite_url_creating_dirs(database_url)?;
                let opts = AnyConnectOptions::from_str(&url)
                    .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
                let sync = options.sqlite_sync;
                // The writer opens first so that it is the one switching the file to WAL
                // (a persistent setting) before any reader connects.
                let write = sqlite_pool(1, timeout, sync)
                    .connect_with(opts.clone())
                    .await?;
                let read = sqlite_pool(options.max_connections.max(1), timeout, sync)
                    .connect_with(opts)
                    .await?;
                Ok(Store {
                    backend,
                    read,
                    write,
                })
            }
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the pending migrations for this database.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// Checks the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight to finish.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Imports `doc` if the database has no topic yet (first start); returns whether
    /// it did. Safe to race: the import is an upsert.
    pub async fn seed_if_empty(
        &self,
        doc: &crate::curriculum::Curriculum,
    ) -> Result<bool, StoreError> {
        if !self.content().is_empty().await? {
            return Ok(false);
        }
        self.content().import_curriculum(doc).await?;
        Ok(true)
    }

    /// Topics, subtopics, tool bindings and curriculum import/export.
    pub fn content(&self) -> ContentRepo<'_> {
        ContentRepo { store: self }
    }

    /// Conversations, messages and tool invocations.
    pub fn history(&self) -> HistoryRepo<'_> {
        HistoryRepo { store: self }
    }

    /// Learner progress, profiles, session analytics and learner deletion.
    pub fn progress(&self) -> ProgressRepo<'_> {
        ProgressRepo { store: self }
    }

    /// Uploaded plugins and their versions.
    pub fn plugins(&self) -> PluginRepo<'_> {
        PluginRepo { store: self }
    }

    /// The audit log of administrative changes.
    pub fn audit(&self) -> AuditRepo<'_> {
        AuditRepo { store: self }
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }
}

/// Per-connection SQLite settings; `busy_timeout` is [`SQLITE_BUSY_TIMEOUT_MS`].
const SQLITE_PRAGMAS_FULL: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";
const SQLITE_PRAGMAS_NORMAL: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

fn sqlite_pool(max: u32, timeout: Duration, sync: SqliteSync) -> AnyPoolOptions {
    let pragmas = match sync {
        SqliteSync::Full => SQLITE_PRAGMAS_FULL,
        SqliteSync::Normal => SQLITE_PRAGMAS_NORMAL,
    };
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(pragmas).await?;
                Ok(())
            })
        })
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else {
        Err(StoreError::InvalidUrl(format!(
            "{:?} is neither sqlite://PATH nor postgres://…; set DATABASE_URL to one of them",
            redact(url)
        )))
    }
}

/// Makes sure the SQLite file's directory exists and asks for the file to be created.
fn sqlite_url_creating_dirs(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::InvalidUrl(
            "an in-memory SQLite database is not shared between connections; give a file path"
                .to_owned(),
        ));
    }
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_owned(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_owned(),
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Clamps a requested page size to `1..=MAX_PAGE_LIMIT`.
pub(crate) fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE_LIMIT).clamp(1, MAX_PAGE_LIMIT)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising our own plain data types cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Json { column, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified_and_redacted() {
        assert_eq!(backend_of("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://u@h/db").unwrap(), Backend::Postgres);
        let err = backend_of("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(
            sqlite_url_creating_dirs("sqlite:lectern-test-url.db").unwrap(),
            "sqlite://lectern-test-url.db?mode=rwc"
        );
        assert!(sqlite_url_creating_dirs("sqlite::memory:").is_err());
    }
}
