//! A message the API acknowledged survives the server being killed: start the real
//! `lectern serve`, write messages from several connections at once, SIGKILL the
//! process mid-stream, start it again on the same database, and check that every
//! message whose request was answered `201` is there. SQLite always, PostgreSQL
//! when reachable.

#[path = "support/lib.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Concurrent writers.
const WRITERS: usize = 8;
/// Acknowledged messages to wait for before the kill (so it lands mid-stream).
const ACKS_BEFORE_KILL: usize = 150;
/// How long the server may take to answer its health check.
const START_TIMEOUT_MS: u64 = 60_000;
const TOKEN: &str = "durability-admin-token";

/// One HTTP/1.1 request on a fresh connection; `(status, body)`.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn start_server(
    addr: SocketAddr,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lectern"));
    command
        .arg("serve")
        .env("LECTERN_BIND", addr.to_string())
        .env("LECTERN_DATA_DIR", data_dir)
        .env("LECTERN_ADMIN_TOKEN", TOKEN)
        .env("LECTERN_BUNDLED_PLUGINS", "false")
        .env("LECTERN_RATE_LIMIT_PER_MIN", "0")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let child = command.spawn().expect("start lectern serve");
    let deadline = Instant::now() + Duration::from_millis(START_TIMEOUT_MS);
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/api/health", None).await {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "lectern serve did not answer /api/health in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn all_messages(addr: SocketAddr, conversation: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let (status, body) = http(
            addr,
            "GET",
            &format!("/api/conversations/{conversation}/messages?after={after}&limit=500"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        let page = page.as_array().unwrap();
        if page.is_empty() {
            return out;
        }
        for m in page {
            out.push(m["content"].as_str().unwrap().to_owned());
            after = m["id"].as_i64().unwrap();
        }
    }
}

async fn kill_mid_stream_and_check(kind: &str, database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut server = start_server(addr, dir.path(), database_url).await;
    let (status, body) = http(
        addr,
        "POST",
        "/api/conversations",
        Some(r#"{"learner_id": "durable-learner", "room": "kill"}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let conversation = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let acknowledged = acknowledged.clone();
        let path = format!("/api/conversations/{conversation}/messages");
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let content = format!("writer {w} message {i}");
                let body = serde_json::json!({ "role": "learner", "content": content }).to_string();
                match http(addr, "POST", &path, Some(&body)).await {
                    Ok((201, _)) => acknowledged.lock().unwrap().push(content),
                    Ok((status, body)) => panic!("unexpected {status}: {body}"),
                    // The server is gone: stop writing.
                    Err(_) => return,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < ACKS_BEFORE_KILL {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL: no shutdown hook, no flush, no drain.
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let _server = start_server(addr, dir.path(), database_url).await;
    let stored = all_messages(addr, &conversation).await;
    let stored_set: std::collections::HashSet<&str> = stored.iter().map(String::as_str).collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|m| !stored_set.contains(m.as_str()))
        .collect();
    eprintln!(
        "{kind}: {} acknowledged before SIGKILL, {} stored after restart, {} lost",
        acknowledged.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{kind}: acknowledged messages lost: {lost:?}"
    );
    assert!(stored.len() >= acknowledged.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_sigkill() {
    let mut ran = Vec::new();
    for db in support::databases().await {
        eprintln!("-- database: {}", db.kind);
        kill_mid_stream_and_check(db.kind, db.url.as_deref()).await;
        ran.push(db.kind);
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}
