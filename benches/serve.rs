//! `cargo bench --bench serve`: `herald serve` under load while `herald send`
//! mails a post from the same ledger. Both are the real binary; clients post
//! signups and one-click unsubscribes over HTTP from several threads, first
//! with no send running, then during one. Prints requests per second for
//! each phase with its answers by status, and the send's time. Fails if an
//! answer is neither 200 nor 503 (the polite "too many signups right now",
//! when confirmation mails queue faster than they are written), or either
//! process said "database is locked".
//!
//! Environment: `HERALD_BENCH_READERS` (default 20000, the list `send`
//! mails), `HERALD_BENCH_REQUESTS` (default 3000 a phase),
//! `HERALD_BENCH_CLIENTS` (default 8 threads).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald::ledger::Ledger;
use herald::token::Keys;

const HERALD: &str = env!("CARGO_BIN_EXE_herald");

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().all(|a| a != "--bench") {
        return;
    }
    let readers = env("HERALD_BENCH_READERS", 20_000);
    let requests = env("HERALD_BENCH_REQUESTS", 3_000);
    let clients = env("HERALD_BENCH_CLIENTS", 8);
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    make_site(site, readers);

    let (mut serve, address, serve_errors) = start_serve(site);
    let ledger_path = site.join(".herald/herald.db");
    let keys = Keys::load(&ledger_path).unwrap();
    // One-click links of readers on the list, some of whom `send` is mailing
    // at the same moment: the ledger rows both processes write.
    let leaving: Vec<String> = Ledger::open(&ledger_path)
        .unwrap()
        .subscribers(None)
        .unwrap()
        .iter()
        .take(2 * requests)
        .map(|s| keys.unsubscribe_token(&s.token, &s.email))
        .collect();
    let leaving = Arc::new(leaving);
    println!(
        "herald serve on {address}: {readers} readers, {clients} clients, {requests} requests a phase (half signups, half one-click unsubscribes)"
    );

    let alone = load(address, &keys, &leaving, 0, requests, clients);
    println!("{:<28} {alone}", "serve alone");

    let send_start = Instant::now();
    let mut send = Command::new(HERALD)
        .args(["-q", "-C"])
        .arg(site)
        .arg("send")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let during = load(address, &keys, &leaving, requests, requests, clients);
    let mut send_errors = String::new();
    send.stderr
        .take()
        .unwrap()
        .read_to_string(&mut send_errors)
        .unwrap();
    let send_status = send.wait().unwrap();
    let send_time = send_start.elapsed();
    println!("{:<28} {during}", "serve while send runs");
    let mailed = std::fs::read_dir(site.join("outbox")).map_or(0, |d| d.count());
    println!(
        "{:<28} {:.2} s, {send_status}, {mailed} messages in the outbox (posts and confirmations)",
        "send (outbox transport)",
        send_time.as_secs_f64()
    );

    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    serve.wait().unwrap();
    let serve_errors = serve_errors.lock().unwrap().clone();
    for (who, text) in [("serve", &serve_errors), ("send", &send_errors)] {
        assert!(!text.contains("locked"), "{who} said: {text}");
    }
    assert!(send_status.success(), "send failed: {send_errors}");
    assert_eq!(
        alone.unexpected() + during.unexpected(),
        0,
        "answers other than 200 and 503"
    );
}

/// A site with one mailed post (the archive) and a new one for `send`, a
/// list of `readers`, mail going to an outbox, and serve's limits opened for
/// a load test.
fn make_site(site: &Path, readers: usize) {
    std::fs::create_dir_all(site.join("config")).unwrap();
    std::fs::create_dir_all(site.join("posts")).unwrap();
    std::fs::write(
        site.join("config/herald.toml"),
        "[site]\ntitle = \"Bench\"\nurl = \"https://notes.test\"\n\
         [email]\nfrom = \"Jane <jane@notes.test>\"\nunsubscribe_mailto = \"jane+unsubscribe@notes.test\"\n\
         transport = \"outbox\"\n\
         [serve]\npublic_url = \"https://notes.test/newsletter\"\nper_ip = \"1000000/s\"\n\
         confirmations = \"1000000/h\"\nmin_fill_time = \"0s\"\n",
    )
    .unwrap();
    let post = |name: &str, title: &str| {
        let text = format!(
            "---\ntitle: {title}\n---\n\n{}\n",
            "A paragraph of the post. ".repeat(200)
        );
        std::fs::write(site.join("posts").join(name), text).unwrap();
    };
    post("2024-01-01-archive.md", "The archive");
    let mut csv = String::from("email,name\n");
    for i in 0..readers {
        csv.push_str(&format!("reader{i}@notes.test,Reader {i}\n"));
    }
    std::fs::write(site.join("readers.csv"), csv).unwrap();
    run(site, &["subscribers", "import", "readers.csv"]);
    run(site, &["send", "--mark-sent"]);
    post("2024-02-01-new.md", "The new post");
}

fn run(site: &Path, args: &[&str]) {
    let out = Command::new(HERALD)
        .arg("-q")
        .arg("-C")
        .arg(site)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "herald {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_serve(site: &Path) -> (Child, std::net::SocketAddr, Arc<Mutex<String>>) {
    let mut child = Command::new(HERALD)
        .arg("-C")
        .arg(site)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let errors = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = Arc::clone(&errors);
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        sink.lock().unwrap().push_str(&text);
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let Some(address) = first.trim().strip_prefix("listening on http://") else {
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(200));
        panic!("herald serve did not start: {}", errors.lock().unwrap());
    };
    let address = address.parse().unwrap();
    (child, address, errors)
}

struct Phase {
    requests: usize,
    /// Answers by HTTP status; 0 for no answer.
    statuses: BTreeMap<u16, usize>,
    elapsed: Duration,
}

impl Phase {
    fn unexpected(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(status, _)| !matches!(status, 200 | 503))
            .map(|(_, n)| n)
            .sum()
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>6.0} requests/s ({} in {:.2} s; answers {:?})",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.requests,
            self.elapsed.as_secs_f64(),
            self.statuses
        )
    }
}

/// `count` requests from `clients` threads: even ones sign up a new address,
/// odd ones unsubscribe reader `first + i` with one click.
fn load(
    address: std::net::SocketAddr,
    keys: &Keys,
    leaving: &Arc<Vec<String>>,
    first: usize,
    count: usize,
    clients: usize,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let stamp = keys.form_stamp(chrono::Utc::now() - chrono::Duration::seconds(60));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (next, statuses, leaving, stamp) = (
                Arc::clone(&next),
                Arc::clone(&statuses),
                Arc::clone(leaving),
                stamp.clone(),
            );
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let n = first + i;
                    let answer = if n.is_multiple_of(2) {
                        let email = format!("new{n}@notes.test");
                        client
                            .post(format!("http://{address}/subscribe"))
                            .form(&[
                                ("email", email.as_str()),
                                ("website", ""),
                                ("stamp", &stamp),
                            ])
                            .send()
                    } else {
                        client
                            .post(format!("http://{address}/unsubscribe"))
                            .query(&[("t", &leaving[n])])
                            .form(&[("List-Unsubscribe", "One-Click")])
                            .send()
                    };
                    let status = answer.map_or(0, |a| a.status().as_u16());
                    *statuses.lock().unwrap().entry(status).or_insert(0) += 1;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    Phase {
        requests: count,
        statuses: statuses.lock().unwrap().clone(),
        elapsed: start.elapsed(),
    }
}
