//! `cargo bench --bench send`: messages per second from `herald send` to an
//! SMTP server in this process (mailin-embedded on 127.0.0.1), for a list of
//! generated subscribers, against the configured rate limit.
//!
//! Environment: `HERALD_BENCH_SUBSCRIBERS` (default 2000),
//! `HERALD_BENCH_CONNECTIONS` (default 4), `HERALD_BENCH_RATE` (default "100000/s").

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use herald::deliver::{self, Options};
use herald::ledger::Ledger;
use herald::{LoadOptions, Site};
use mailin_embedded::{Handler, Server, response};

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Handler for Counter {
    fn data_end(&mut self) -> mailin_embedded::Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        response::OK
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    if std::env::args().all(|a| a != "--bench") {
        return;
    }
    let subscribers: usize = env("HERALD_BENCH_SUBSCRIBERS", "2000").parse().unwrap();
    let connections = env("HERALD_BENCH_CONNECTIONS", "4");
    let rate = env("HERALD_BENCH_RATE", "100000/s");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let counter = Counter::default();
    let handler = counter.clone();
    std::thread::spawn(move || {
        let mut server = Server::new(handler);
        server.with_name("localhost").with_num_threads(16);
        server.with_tcp_listener(listener);
        let _ = server.serve();
    });

    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/email-site");
    for entry in walkdir::WalkDir::new(&fixture) {
        let entry = entry.unwrap();
        let target = dir
            .path()
            .join(entry.path().strip_prefix(&fixture).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    let config = dir.path().join("config/herald.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nconnections = {connections}\nrate = \"{rate}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let mut ledger = Ledger::open(&dir.path().join(".herald/herald.db")).unwrap();
    ledger
        .in_transaction(|l| {
            for i in 0..subscribers {
                l.add_subscriber(&format!("reader{i}@example.org"), None)?;
            }
            Ok(())
        })
        .unwrap();
    drop(ledger);

    let site = Site::load(dir.path(), None, &LoadOptions::default()).unwrap();
    let options = Options {
        dry_run: false,
        to: None,
        all: false,
        post: Some("faster-sparse-solvers".into()),
        mark_sent: false,
        resend_unknown: false,
        progress: false,
        notes: Default::default(),
    };
    let start = Instant::now();
    let report = deliver::send(&site, &options).unwrap();
    let elapsed = start.elapsed();
    let received = counter.0.load(Ordering::Relaxed);
    assert_eq!(received, subscribers, "{report}");
    println!(
        "{received} messages in {elapsed:.2?} over {connections} connections, rate {rate}: {:.0} messages/s",
        received as f64 / elapsed.as_secs_f64()
    );
}
