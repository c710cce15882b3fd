//! Message inserts per second through the repository layer
//! (`HistoryRepo::append_message`), for SQLite (synchronous FULL, the default, and
//! NORMAL) and PostgreSQL (when reachable), sequentially and from concurrent tasks.
//!
//! The floor is the same INSERT sent with the native sqlx driver (no `Any`, no
//! repository) to the same database with the same settings, measured in the same
//! run; the ratio says what the repository layer costs.
//!
//! Run: `cargo bench -p lectern-runtime --bench store`
//! (`LECTERN_BENCH_POSTGRES_URL` overrides postgres://postgres@127.0.0.1:5432/test).

use std::str::FromStr;
use std::time::{Duration, Instant};

use lectern_runtime::store::{
    MessageRole, NewConversation, NewMessage, SqliteSync, Store, StoreOptions, now_ms,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Executor};

/// Sequential inserts per measurement.
const SEQUENTIAL_INSERTS: usize = 500;
/// Measurements of each side, alternated so that neither always runs first on a
/// warmer (or more checkpoint-laden) file; the median is printed.
const ROUNDS: usize = 3;
/// Concurrent tasks, and inserts each.
const TASKS: usize = 8;
const INSERTS_PER_TASK: usize = 250;
const CONTENT: &str = "The denominator says how many equal parts the whole was cut into.";

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(total: Duration, mut latencies: Vec<Duration>) -> Figures {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        per_sec: latencies.len() as f64 / total.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Inserts through the repository, one at a time or from `tasks` tasks.
async fn repository(store: &Store, conversation: &str, tasks: usize, each: usize) -> Figures {
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let store = store.clone();
        let conversation = conversation.to_owned();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for _ in 0..each {
                let t = Instant::now();
                store
                    .history()
                    .append_message(
                        &conversation,
                        NewMessage {
                            role: MessageRole::Learner,
                            content: CONTENT.into(),
                            item_id: None,
                            spoken_at_ms: None,
                        },
                    )
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    figures(started.elapsed(), all)
}

const RAW_INSERT_SQLITE: &str = "INSERT INTO messages (conversation_id, role, content, item_id, spoken_at_ms, \
     created_at_ms, updated_at_ms) VALUES (?1, 'learner', ?2, NULL, NULL, ?3, ?3)";
const RAW_INSERT_PG: &str = "INSERT INTO messages (conversation_id, role, content, item_id, spoken_at_ms, \
     created_at_ms, updated_at_ms) VALUES ($1, 'learner', $2, NULL, NULL, $3, $3) RETURNING id";

/// The floor: the same insert through the native driver.
async fn floor_sqlite(
    pool: &sqlx::SqlitePool,
    conversation: &str,
    tasks: usize,
    each: usize,
) -> Figures {
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let pool = pool.clone();
        let conversation = conversation.to_owned();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for _ in 0..each {
                let t = Instant::now();
                sqlx::query(RAW_INSERT_SQLITE)
                    .bind(&conversation)
                    .bind(CONTENT)
                    .bind(now_ms())
                    .execute(&pool)
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    figures(started.elapsed(), all)
}

async fn floor_pg(pool: &sqlx::PgPool, conversation: &str, tasks: usize, each: usize) -> Figures {
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let pool = pool.clone();
        let conversation = conversation.to_owned();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for _ in 0..each {
                let t = Instant::now();
                sqlx::query(RAW_INSERT_PG)
                    .bind(&conversation)
                    .bind(CONTENT)
                    .bind(now_ms())
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    figures(started.elapsed(), all)
}

fn median(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
    runs.swap_remove(runs.len() / 2)
}

fn print_row(backend: &str, mode: &str, ours: &Figures, floor: &Figures) {
    println!(
        "{backend:<18} {mode:<24} {:>10.0} {:>9.0} {:>9.0} {:>12.0} {:>7.2}",
        ours.per_sec,
        ours.p50.as_secs_f64() * 1e6,
        ours.p99.as_secs_f64() * 1e6,
        floor.per_sec,
        ours.per_sec / floor.per_sec
    );
}

async fn new_conversation(store: &Store) -> String {
    store
        .history()
        .create_conversation(NewConversation {
            learner_id: "bench".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
}

async fn bench_sqlite(sync: SqliteSync) {
    let dir = std::env::temp_dir().join(format!("lectern-bench-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}/bench.db", dir.display());
    let store = Store::connect_with(
        &url,
        StoreOptions {
            sqlite_sync: sync,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let conversation = new_conversation(&store).await;
    let native = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match sync {
            SqliteSync::Full => SqliteSynchronous::Full,
            SqliteSync::Normal => SqliteSynchronous::Normal,
        })
        .foreign_keys(true);
    // One writer connection, as the store uses.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(native)
        .await
        .unwrap();
    let name = match sync {
        SqliteSync::Full => "sqlite (sync FULL)",
        SqliteSync::Normal => "sqlite (sync NORMAL)",
    };
    let modes = [
        ("sequential".to_owned(), 1, SEQUENTIAL_INSERTS),
        (format!("{TASKS} concurrent tasks"), TASKS, INSERTS_PER_TASK),
    ];
    for (mode, tasks, each) in modes {
        let (mut ours, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.push(repository(&store, &conversation, tasks, each).await);
            floor.push(floor_sqlite(&pool, &conversation, tasks, each).await);
        }
        print_row(name, &mode, &median(ours), &median(floor));
    }
    pool.close().await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn bench_postgres() {
    let admin_url = std::env::var("LECTERN_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("lectern_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = match tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect(&admin_url),
    )
    .await
    {
        Ok(Ok(c)) => c,
        _ => {
            println!(
                "{:<18} skipped: PostgreSQL at {admin_url} is not reachable",
                "postgres"
            );
            return;
        }
    };
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let conversation = new_conversation(&store).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(lectern_runtime::store::DEFAULT_MAX_CONNECTIONS)
        .connect(&url)
        .await
        .unwrap();
    let modes = [
        ("sequential".to_owned(), 1, SEQUENTIAL_INSERTS),
        (format!("{TASKS} concurrent tasks"), TASKS, INSERTS_PER_TASK),
    ];
    for (mode, tasks, each) in modes {
        let (mut ours, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.push(repository(&store, &conversation, tasks, each).await);
            floor.push(floor_pg(&pool, &conversation, tasks, each).await);
        }
        print_row("postgres", &mode, &median(ours), &median(floor));
    }
    pool.close().await;
    store.close().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "message inserts through HistoryRepo::append_message (each a committed transaction)"
        );
        println!(
            "floor: the same INSERT through the native sqlx driver, same database and settings"
        );
        println!("median of {ROUNDS} alternating rounds of each");
        println!(
            "{:<18} {:<24} {:>10} {:>9} {:>9} {:>12} {:>7}",
            "backend", "mode", "inserts/s", "p50 µs", "p99 µs", "floor ins/s", "ratio"
        );
        bench_sqlite(SqliteSync::Full).await;
        bench_sqlite(SqliteSync::Normal).await;
        bench_postgres().await;
    });
}
