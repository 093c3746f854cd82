//! Ledger benchmark: what the SQLite side of a send costs, so the ledger is
//! known not to be what limits throughput.
//!
//! Two measurements, on a file on real disk (fsync costs nothing on tmpfs,
//! which would hide the very cost measured), under `target/`:
//!
//! 1. 100,000 subscribers through the real API: a CSV import, then a whole
//!    mailing the way the send loop drives it (pages of 200 marked pending,
//!    outcomes recorded 200 at a time), then the scans `send` and `status`
//!    make on a post already delivered to everyone.
//! 2. Commit cost by batch size, `synchronous = FULL` against `NORMAL`, with
//!    the ledger's own statements on a bare connection: why herald can
//!    afford FULL.
//!
//! `cargo bench --bench ledger`. Prints; asserts nothing about time.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use herald::ledger::{Ledger, Outcome, State};

const SUBSCRIBERS: usize = 100_000;
/// The send loop's page and batch sizes (src/deliver/pump.rs).
const PAGE: usize = 200;

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("herald-ledger-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under target/");
    whole_mailing(dir.path());
    for sync in ["FULL", "NORMAL"] {
        commit_cost(dir.path(), sync);
    }
}

fn whole_mailing(dir: &Path) {
    let csv = dir.join("list.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(out, "Email Address,First Name,Last Name").unwrap();
    for i in 0..SUBSCRIBERS {
        writeln!(out, "reader{i}@example.org,Reader,{i}").unwrap();
    }
    out.flush().unwrap();
    drop(out);

    let path = dir.join("mailing.db");
    let mut ledger = Ledger::open(&path).unwrap();
    let started = Instant::now();
    let report = herald::subscribers::import_csv(&mut ledger, &csv, &csv).unwrap();
    report_line("import 100k-row CSV", started.elapsed(), report.added);

    let post = "https://example.org/blog/2026/11/24/post/";
    let started = Instant::now();
    let (mut after, mut total, mut commits) = (0, 0, 0);
    loop {
        let page = ledger.undelivered(post, after, PAGE).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
        ledger.mark_pending(post, &ids).unwrap();
        let outcomes: Vec<Outcome> = ids
            .iter()
            .map(|&id| Outcome {
                post_id: post.into(),
                subscriber_id: id,
                state: State::Sent,
                detail: "250 2.0.0 Ok: queued as 4Xk2".into(),
                message_id: Some(format!("<{id}.post@example.org>")),
            })
            .collect();
        ledger.record(&outcomes).unwrap();
        total += ids.len();
        commits += 2;
    }
    let elapsed = started.elapsed();
    report_line("stream+pending+sent, pages of 200", elapsed, total);
    println!(
        "    {commits} commits, {:.2} ms per commit pair, {:.0} deliveries/s ledger-bound",
        elapsed.as_secs_f64() * 1e3 / (commits / 2) as f64,
        total as f64 / elapsed.as_secs_f64()
    );

    let started = Instant::now();
    assert!(ledger.undelivered(post, 0, 1).unwrap().is_empty());
    report_line(
        "'anything owed?' first time (full scan)",
        started.elapsed(),
        1,
    );
    let started = Instant::now();
    assert!(ledger.undelivered(post, 0, 1).unwrap().is_empty());
    report_line(
        "'anything owed?' again (mailing complete)",
        started.elapsed(),
        1,
    );
    let started = Instant::now();
    let status = ledger.status(None).unwrap();
    assert_eq!(status[0].sent as usize, SUBSCRIBERS);
    report_line("status() counts", started.elapsed(), 1);
    let started = Instant::now();
    let rows = ledger
        .mark_post_sent("https://example.org/blog/old/")
        .unwrap();
    report_line(
        "mark_post_sent (--mark-sent, one post)",
        started.elapsed(),
        rows,
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join("mailing.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("    database + WAL: {:.1} MB", size as f64 / 1e6);
}

fn report_line(what: &str, elapsed: Duration, items: usize) {
    println!(
        "{what:<42} {:>9.1} ms  ({items} rows, {:.2} µs/row)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / items.max(1) as f64
    );
}

/// Deliveries marked pending and then sent, `batch` per transaction, on a
/// bare connection with the ledger's statements, under `sync`.
fn commit_cost(dir: &Path, sync: &str) {
    const ROWS: usize = 4_000;
    println!("synchronous = {sync} (WAL):");
    for batch in [1usize, 10, 100, 200, 1000] {
        let path = dir.join(format!("commit-{sync}-{batch}.db"));
        // The ledger creates the schema; the bare connection then differs only in `synchronous`.
        drop(Ledger::open(&path).unwrap());
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};"
        ))
        .unwrap();
        let rows = if batch == 1 { ROWS / 4 } else { ROWS };
        // Real subscribers: bundled SQLite checks the deliveries' foreign key.
        let tx = conn.transaction().unwrap();
        for id in 0..rows {
            tx.execute(
                "INSERT INTO subscribers (id, email, status, token, created, updated, active_since)
                 VALUES (?1, ?1 || '@example.org', 'active', ?1, 'now', 'now', 'now')",
                [id as i64],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let started = Instant::now();
        for chunk in (0..rows).collect::<Vec<_>>().chunks(batch) {
            let tx = conn.transaction().unwrap();
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO deliveries (post, subscriber, state, updated) VALUES ('p', ?1, 'pending', 'now')",
                    )
                    .unwrap();
                for &id in chunk {
                    insert.execute([id as i64]).unwrap();
                }
            }
            tx.commit().unwrap();
        }
        let elapsed = started.elapsed();
        let commits = rows.div_ceil(batch);
        println!(
            "  batch {batch:>5}: {:>7.3} ms per commit, {:>7.2} µs per row, {:>9.0} rows/s",
            elapsed.as_secs_f64() * 1e3 / commits as f64,
            elapsed.as_secs_f64() * 1e6 / rows as f64,
            rows as f64 / elapsed.as_secs_f64()
        );
    }
}
