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
    /// A fresh site from `herald init`: one post, outbox transport.
    fn new() -> TestSite {
        let site = TestSite {
            dir: tempfile::tempdir().unwrap(),
        };
        site.herald(&["init", "-q"]).success();
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
        .code(1)
        .stderr(predicate::str::contains("already subscribed"));
    site.herald(&["subscribers", "add", "ada at example.org"])
        .code(1)
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
        .code(1)
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
        .code(1)
        .stderr(predicate::str::contains("not a subscriber status"));
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
        .herald(&["subscribers", "export", "list.csv"])
        .success()
        .stdout("wrote 2 subscribers to list.csv\n");
    let csv = std::fs::read_to_string(first.path("list.csv")).unwrap();
    assert!(csv.starts_with("email,name,status,created\n"), "{csv}");
    assert_eq!(first.stdout(&["subscribers", "export"]), csv);

    let second = TestSite::new();
    let exported = first.path("list.csv").display().to_string();
    second
        .herald(&["subscribers", "import", &exported])
        .success()
        .stdout("2 added (1 unsubscribed, never mailed), 0 already subscribed, 0 invalid\n");
    let names = |site: &TestSite| -> Vec<String> {
        site.stdout(&["subscribers", "list"])
            .lines()
            .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(names(&first), names(&second));
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
            "2 sent      0 unknown      0 failed  Hello, world",
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
            "0 sent      1 unknown      0 failed  Second",
        ))
        .stdout(predicate::str::contains("--resend-unknown"));
    // The rest is delivered; the unknown one is not repeated.
    site.herald(&["send"]).success();
    site.herald(&["status"])
        .success()
        .stdout(predicate::str::contains(
            "1 sent      1 unknown      0 failed  Second",
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
