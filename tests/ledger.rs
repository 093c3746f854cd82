//! Subscribers and delivery state through the real binary and a real SQLite
//! file: add, remove, list, CSV imports shaped like Mailchimp, Buttondown
//! and Substack exports, export, and `status` after sends and a crash.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use herald::ledger::Ledger;
use predicates::prelude::*;

struct TestSite {
    dir: tempfile::TempDir,
}

impl TestSite {
    /// A fresh site from `herald init`: one post, the outbox chosen as
    /// transport, and a `.test` domain where init wrote placeholders
    /// (`send` refuses those).
    fn new() -> TestSite {
        let site = TestSite {
            dir: tempfile::tempdir().unwrap(),
        };
        site.herald(&["init", "-q"]).success();
        let config = site.path("config/herald.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text
            .replace("example.org", "blog.test")
            .replace("[email]\n", "[email]\ntransport = \"outbox\"\n");
        std::fs::write(&config, text).unwrap();
        site
    }

    fn herald(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("herald")
            .unwrap()
            .arg("-C")
            .arg(self.dir.path())
            .args(args)
            .assert()
    }

    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.herald(args).success().get_output().stdout.clone()).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ledger(&self) -> Ledger {
        Ledger::open(&self.path(".herald/herald.db")).unwrap()
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/csv")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn subscribers_are_added_normalised_listed_and_removed() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", " Ada@Example.ORG ", "--name", "Ada"])
        .success()
        .stdout("added ada@example.org\n");
    site.herald(&["subscribers", "add", "ADA@example.org"])
        .code(2)
        .stderr(predicate::str::contains("already subscribed"));
    site.herald(&["subscribers", "add", "ada at example.org"])
        .code(2)
        .stderr(predicate::str::contains("not an email address"));
    let list = site.stdout(&["subscribers", "list"]);
    assert!(list.starts_with("ada@example.org\tAda\tactive\t"), "{list}");
    assert_eq!(list.lines().count(), 1);
    site.herald(&["subscribers", "remove", "ada@EXAMPLE.org"])
        .success()
        .stdout("unsubscribed ada@example.org (was active)\n");
    // Removed is unsubscribed: still listed (history kept), never mailed.
    let list = site.stdout(&["subscribers", "list"]);
    assert!(
        list.starts_with("ada@example.org\tAda\tunsubscribed\t"),
        "{list}"
    );
    assert_eq!(
        site.stdout(&["subscribers", "list", "--status", "active"]),
        ""
    );
    site.herald(&["subscribers", "remove", "ada@example.org"])
        .success()
        .stdout("ada@example.org was already unsubscribed\n");
    site.herald(&["subscribers", "remove", "nobody@example.org"])
        .code(2)
        .stderr(predicate::str::contains(
            "nobody@example.org is not a subscriber",
        ));
    // Adding them again by hand is deliberate: they are active again.
    site.herald(&["subscribers", "add", "ada@example.org"])
        .success()
        .stdout("ada@example.org was unsubscribed; active again from the next post on\n");
    // --forget deletes the address and its history.
    site.herald(&["subscribers", "remove", "--forget", "ada@example.org"])
        .success()
        .stdout("forgot ada@example.org and its delivery history\n");
    assert_eq!(site.stdout(&["subscribers", "list"]), "");
}

#[test]
fn a_mailchimp_export_is_imported_by_column_name_with_bad_rows_reported_by_line() {
    let site = TestSite::new();
    site.herald(&["subscribers", "import", &fixture("mailchimp.csv")])
        .success()
        .stdout("2 added, 1 already subscribed, 1 invalid\n")
        .stderr(predicate::str::contains(
            "mailchimp.csv:4: \"not-an-address\" is not an email address",
        ));
    let list = site.stdout(&["subscribers", "list"]);
    assert!(
        list.contains("ada@example.org\tAda Lovelace\tactive"),
        "{list}"
    );
    assert!(
        list.contains("grace@example.org\tGrace Hopper\tactive"),
        "{list}"
    );
    // Importing the same file again adds nobody.
    site.herald(&["subscribers", "import", &fixture("mailchimp.csv")])
        .success()
        .stdout("0 added, 3 already subscribed, 1 invalid\n");
}

#[test]
fn buttondown_and_substack_exports_keep_who_unsubscribed() {
    let site = TestSite::new();
    site.herald(&["subscribers", "import", &fixture("buttondown.csv")])
        .success();
    site.herald(&["subscribers", "import", &fixture("substack.csv")])
        .success();
    let active = site.stdout(&["subscribers", "list", "--status", "active"]);
    let gone = site.stdout(&["subscribers", "list", "--status", "unsubscribed"]);
    assert!(
        active.contains("alan@example.net") && active.contains("emmy@example.com\tEmmy Noether")
    );
    assert!(gone.contains("kurt@example.net") && gone.contains("john@example.com"));
    assert_eq!(active.lines().count() + gone.lines().count(), 4);
    site.herald(&["subscribers", "list", "--status", "sleeping"])
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: active, unsubscribed, bounced",
        ));
}

#[test]
fn a_file_without_an_email_column_is_refused() {
    let site = TestSite::new();
    std::fs::write(site.path("people.csv"), "name,phone\nAda,123\n").unwrap();
    site.herald(&["subscribers", "import", "people.csv"])
        .code(1)
        .stderr(predicate::str::contains("people.csv:1: no email column"));
}

#[test]
fn an_export_imports_into_another_site_unchanged() {
    let first = TestSite::new();
    first
        .herald(&["subscribers", "import", &fixture("substack.csv")])
        .success();
    first
        .herald(&["subscribers", "add", "Ada <ada@example.org>"])
        .success();
    first
        .herald(&["subscribers", "export", "list.csv"])
        .success()
        .stdout("wrote 3 subscribers to list.csv\n");
    let csv = std::fs::read_to_string(first.path("list.csv")).unwrap();
    assert!(
        csv.starts_with("email,name,status,created,updated,active_since,token\n"),
        "{csv}"
    );
    assert_eq!(first.stdout(&["subscribers", "export"]), csv);

    let second = TestSite::new();
    let exported = first.path("list.csv").display().to_string();
    second
        .herald(&["subscribers", "import", &exported])
        .success()
        .stdout("3 added (1 unsubscribed, never mailed), 0 already subscribed, 0 invalid\n");
    // Every column comes back: status, name, dates, and the token, so the
    // unsubscribe links already mailed keep working.
    assert_eq!(second.stdout(&["subscribers", "export"]), csv);
    let ada = csv.lines().find(|l| l.starts_with("ada@")).unwrap();
    let token = ada.rsplit(',').next().unwrap();
    assert!(
        second
            .stdout(&["subscribers", "list", token])
            .starts_with("ada@example.org\tAda\tactive\t")
    );
}

#[test]
fn status_counts_sent_posts_and_calls_out_deliveries_left_unknown_by_a_crash() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "a@example.org"])
        .success();
    site.herald(&["subscribers", "add", "b@example.org"])
        .success();
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains("subscribers: 2 active"))
        .stdout(predicate::str::contains("1 post(s) never mailed"));
    site.herald(&["send"]).success();
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(
            // sent, owed, in flight, unknown, failed
            "2       0         0       0       0       0          0  Hello, world",
        ));

    // A crash in the middle of the next post: one delivery left pending.
    site.herald(&["new", "Second", "-q"]).success();
    let post_id = {
        let loaded =
            herald::Site::load(site.dir.path(), None, &herald::LoadOptions::default()).unwrap();
        loaded.find_post("second").unwrap().feed_id().to_string()
    };
    let mut ledger = site.ledger();
    let first = ledger.undelivered(&post_id, 0, 1).unwrap()[0].id;
    ledger.mark_pending(&post_id, &[first]).unwrap();
    drop(ledger);
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(
            "0       1         0       1       0       0          0  Second",
        ))
        .stdout(predicate::str::contains("--resend-unknown"));
    // The rest is delivered; the unknown one is not repeated.
    site.herald(&["send"]).success();
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(
            "1       0         0       1       0       0          0  Second",
        ));
}

#[test]
fn a_subscriber_added_after_a_post_went_out_does_not_get_that_post() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "early@example.org"])
        .success();
    site.herald(&["send"]).success();
    site.herald(&["subscribers", "add", "late@example.org"])
        .success();
    site.herald(&["send", "--dry-run"])
        .success()
        .stdout(predicate::str::contains("late@example.org").not());
    site.herald(&["send"]).success();
    let outbox: Vec<_> = std::fs::read_dir(site.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert!(outbox[0].contains("early@example.org"));
}

#[test]
fn mailchimp_unsubscribed_and_cleaned_exports_are_never_mailed_and_their_unsubscribes_win() {
    let site = TestSite::new();
    site.herald(&["subscribers", "import", &fixture("mailchimp.csv")])
        .success();
    // Mailchimp writes each status to its own file, with no status column.
    site.herald(&[
        "subscribers",
        "import",
        &fixture("mailchimp-unsubscribed.csv"),
    ])
    .success()
    .stdout(
        "1 added (1 unsubscribed, never mailed), 0 already subscribed, 0 invalid, \
             1 marked unsubscribed or bounced as the export says\n",
    );
    site.herald(&["subscribers", "import", &fixture("mailchimp-cleaned.csv")])
        .success()
        .stdout(
            "0 added, 0 already subscribed, 0 invalid, 1 marked unsubscribed or bounced as the export says\n",
        );
    let list = site.stdout(&["subscribers", "list"]);
    assert!(
        list.contains("ada@example.org\tAda Lovelace\tunsubscribed"),
        "{list}"
    );
    assert!(
        list.contains("charles@example.org\tCharles Babbage\tunsubscribed"),
        "{list}"
    );
    assert!(
        list.contains("grace@example.org\tGrace Hopper\tbounced"),
        "{list}"
    );
    // Re-importing the old subscribed export revives nobody.
    site.herald(&["subscribers", "import", &fixture("mailchimp.csv")])
        .success()
        .stdout("0 added, 3 already subscribed, 1 invalid\n");
    assert_eq!(
        site.stdout(&["subscribers", "list", "--status", "active"]),
        ""
    );
    site.herald(&["subscribers", "add", "new@example.org"])
        .success();
    site.herald(&["send"]).success();
    let outbox: Vec<String> = std::fs::read_dir(site.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert!(outbox[0].contains("new@example.org"), "{outbox:?}");
}

#[test]
fn a_buttondown_export_keeps_types_leaves_out_the_unconfirmed_and_reports_unknown_types_by_line() {
    let site = TestSite::new();
    site.herald(&["subscribers", "import", &fixture("buttondown-types.csv")])
        .success()
        .stdout(
            "4 added (1 unsubscribed, 1 bounced, never mailed), 0 already subscribed, 1 invalid, \
             1 never confirmed (left out)\n",
        )
        .stderr(predicate::str::contains(
            "buttondown-types.csv:7: odd@example.net: status \"mystery\" is not one herald knows",
        ));
    let list = site.stdout(&["subscribers", "list"]);
    let statuses: Vec<String> = list
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            format!("{} {}", fields[0], fields[2])
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "alan@example.net active",
            "emmy@example.net active",
            "spam@example.net unsubscribed",
            "gone@example.net bounced",
        ]
    );
}

#[test]
fn a_plain_list_of_addresses_without_a_header_is_imported() {
    let site = TestSite::new();
    site.herald(&["subscribers", "import", &fixture("plain-list.csv")])
        .success()
        .stdout("3 added, 0 already subscribed, 1 invalid\n")
        .stderr(predicate::str::contains(
            "plain-list.csv:5: \"not an address\" is not an email address",
        ));
    let emails: Vec<String> = site
        .stdout(&["subscribers", "list"])
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(
        emails,
        ["ada@example.org", "bob@example.org", "carol@example.org"]
    );
}

#[test]
fn a_send_holding_the_ledger_is_reported_as_in_flight_and_keeps_a_second_send_out() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "a@example.org"])
        .success();
    site.herald(&["subscribers", "add", "b@example.org"])
        .success();
    let post_id = {
        let loaded =
            herald::Site::load(site.dir.path(), None, &herald::LoadOptions::default()).unwrap();
        loaded.posts[0].feed_id().to_string()
    };
    // This test process plays a send in progress: one row pending, lock held.
    let mut sending = site.ledger();
    let a = sending.undelivered(&post_id, 0, 1).unwrap()[0].id;
    sending.mark_pending(&post_id, &[a]).unwrap();
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(format!(
            "a send is running now (pid {}, since ",
            std::process::id()
        )))
        .stdout(predicate::str::contains("1 deliveries in flight"))
        .stdout(predicate::str::contains("--resend-unknown").not());
    site.herald(&["send", "--resend-unknown"])
        .code(3)
        .stderr(predicate::str::contains(format!(
            "another send is running (pid {}, since ",
            std::process::id()
        )));
    assert!(
        !site.path("outbox").exists()
            || std::fs::read_dir(site.path("outbox")).unwrap().count() == 0
    );
    assert_eq!(
        sending.unknown(None).unwrap().len(),
        1,
        "the in-flight row was not reset"
    );
    drop(sending);
    // The "send" ended without recording: now that row is unknown.
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(
            "1 deliveries unknown: a send stopped",
        ));
}

#[test]
fn a_hundred_thousand_subscribers_are_streamed_page_by_page_each_exactly_once() {
    use std::io::Write;
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(out, "email,name").unwrap();
    for i in 0..N {
        writeln!(out, "reader{i}@example.org,Reader {i}").unwrap();
    }
    drop(out);
    let mut ledger = Ledger::open(&dir.path().join("herald.db")).unwrap();
    let started = std::time::Instant::now();
    let report = herald::subscribers::import_csv(&mut ledger, &csv, &csv).unwrap();
    let imported = started.elapsed();
    assert_eq!(report.added, N);

    // A crash after the first page was marked pending: those are unknown, not owed.
    let post = "p";
    let first = ledger.undelivered(post, 0, 200).unwrap();
    let first_ids: Vec<i64> = first.iter().map(|s| s.id).collect();
    ledger.mark_pending(post, &first_ids).unwrap();
    drop(ledger);
    let mut ledger = Ledger::open(&dir.path().join("herald.db")).unwrap();
    assert_eq!(ledger.unknown(Some(post)).unwrap().len(), 200);

    let started = std::time::Instant::now();
    let (mut after, mut seen, mut largest_page) = (0, std::collections::HashSet::new(), 0);
    loop {
        let page = ledger.undelivered(post, after, 500).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        largest_page = largest_page.max(page.len());
        let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
        ledger.mark_pending(post, &ids).unwrap();
        for id in ids {
            assert!(!first_ids.contains(&id), "an unknown row was offered again");
            assert!(seen.insert(id), "subscriber {id} offered twice");
        }
    }
    let streamed = started.elapsed();
    assert_eq!(seen.len(), N - 200);
    assert_eq!(largest_page, 500, "pages stay bounded");
    eprintln!(
        "100k subscribers (debug build): import {imported:?}, stream+mark pending {streamed:?}"
    );
}

#[path = "ledger/input.rs"]
mod input;
#[path = "ledger/safety.rs"]
mod safety;
