// Test databases for storage tests, shared by runtime and api tests with `include!`.
//
// SQLite: a fresh file in a fresh temporary directory. PostgreSQL: a fresh schema in
// the database at LECTERN_TEST_POSTGRES_URL (default below), selected through the
// connection's search_path, so parallel tests never see each other's tables. When
// PostgreSQL is unreachable the PostgreSQL half is skipped with a notice, unless
// LECTERN_TEST_REQUIRE_POSTGRES=1 (CI), which turns the skip into a failure.

#[allow(dead_code)]
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated, empty database for one test.
#[allow(dead_code)]
pub struct TestDb {
    /// The store, migrated.
    pub store: lectern_runtime::store::Store,
    /// The URL that reaches this database (for starting a server on it).
    pub url: String,
    /// "sqlite" or "postgres".
    pub kind: &'static str,
    cleanup: Cleanup,
}

#[allow(dead_code)]
enum Cleanup {
    Dir(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

#[allow(dead_code)]
impl TestDb {
    /// A SQLite database in a new temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir =
            std::env::temp_dir().join(format!("lectern-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/lectern.db", dir.display());
        let store = lectern_runtime::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        TestDb {
            store,
            url,
            kind: "sqlite",
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A PostgreSQL schema of its own, or `None` (with a notice) when unreachable.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("LECTERN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let schema = format!("lectern_test_{}", uuid::Uuid::new_v4().simple());
        let created = async {
            let mut conn = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url),
            )
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
            sqlx::Executor::execute(
                &mut conn,
                sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")),
            )
            .await
            .map_err(|e| e.to_string())?;
            sqlx::Connection::close(conn)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(why) = created {
            if std::env::var("LECTERN_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL at {admin_url} is required but unreachable: {why}");
            }
            eprintln!(
                "NOTICE: PostgreSQL at {admin_url} unreachable ({why}); skipping the PostgreSQL run"
            );
            return None;
        }
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        let store = lectern_runtime::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Some(TestDb {
            store,
            url,
            kind: "postgres",
            cleanup: Cleanup::Schema { admin_url, schema },
        })
    }

    /// Closes the store and removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await
                {
                    let _ = sqlx::Executor::execute(
                        &mut conn,
                        sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")),
                    )
                    .await;
                    let _ = sqlx::Connection::close(conn).await;
                }
            }
        }
    }
}

/// Runs `test` on SQLite, then on PostgreSQL when reachable.
#[allow(dead_code)]
pub async fn for_each_database<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    eprintln!("-- sqlite");
    test(TestDb::sqlite().await).await;
    if let Some(db) = TestDb::postgres().await {
        eprintln!("-- postgres");
        test(db).await;
    }
}
