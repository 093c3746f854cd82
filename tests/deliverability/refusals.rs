//! Refusals at send time, from a real SMTP server answering RCPT: an
//! address that does not exist bounces its reader at once; a refusal of
//! the message (spam filter, size) fails only that delivery; a full
//! mailbox bounces the reader only when it lasts `soft_bounce_limit` posts;
//! a 4xx that later clears is no bounce at all.

use herald::ledger::SubscriberStatus;

use super::server::SmtpServer;
use super::{Site, stderr, stdout};

#[test]
fn a_550_5_1_1_bounces_the_reader_at_once_and_the_list_says_why_and_when() {
    let server = SmtpServer::start();
    server.refuse(
        "gone@example.org",
        550,
        "5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
    );
    let site = Site::new(server.port);
    site.subscribe(&["ada@example.org", "gone@example.org"]);
    let out = site.herald(&["send", "--post", "hello"]).code(4);
    assert!(
        stdout(&out).contains("the address bounced"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        site.status_of("gone@example.org"),
        SubscriberStatus::Bounced
    );
    assert_eq!(site.status_of("ada@example.org"), SubscriberStatus::Active);

    let listed = stdout(
        &site
            .herald(&["subscribers", "list", "--status", "bounced"])
            .success(),
    );
    let line = listed.lines().next().unwrap_or_default();
    assert!(line.starts_with("gone@example.org\t"), "{listed}");
    assert!(
        line.contains("5.1.1") && line.contains("User unknown") && line.contains(" UTC"),
        "{line}"
    );
    let status = stdout(&site.herald(&["status"]).success());
    assert!(
        status.contains("subscribers: 1 active, 0 pending, 0 unsubscribed, 1 bounced"),
        "{status}"
    );
    let row = status
        .lines()
        .find(|l| l.ends_with("Hello, subscribers"))
        .unwrap();
    let columns: Vec<&str> = row.split_whitespace().collect();
    // sent, owed, in flight, unknown, failed, bounced, complained
    assert_eq!(
        &columns[..7],
        ["1", "0", "0", "0", "1", "1", "0"],
        "{status}"
    );

    // The next post is not even offered to the bounced reader.
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(server.recipients(), ["ada@example.org", "ada@example.org"]);

    // Adding them back takes --force.
    let refused = site
        .herald(&["subscribers", "add", "gone@example.org"])
        .code(2);
    assert!(
        stderr(&refused).contains("--force") && stderr(&refused).contains("5.1.1"),
        "{}",
        stderr(&refused)
    );
    site.herald(&["subscribers", "add", "gone@example.org", "--force"])
        .success();
    assert_eq!(site.status_of("gone@example.org"), SubscriberStatus::Active);
}

#[test]
fn a_refusal_of_the_message_fails_that_delivery_only_and_the_reader_stays() {
    let server = SmtpServer::start();
    server.refuse(
        "ada@example.org",
        554,
        "5.7.1 Message rejected as spam by content filter",
    );
    let site = Site::new(server.port);
    site.subscribe(&["ada@example.org"]);
    let out = site.herald(&["send", "--post", "hello"]).code(4);
    assert!(stdout(&out).contains("5.7.1"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("bounced"), "{}", stdout(&out));
    assert_eq!(site.status_of("ada@example.org"), SubscriberStatus::Active);
    server.refuse("ada@example.org", 250, "ok");
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(server.recipients(), ["ada@example.org"]);
}

#[test]
fn a_full_mailbox_bounces_the_reader_only_on_the_third_post_in_a_row() {
    let server = SmtpServer::start();
    server.refuse(
        "full@example.org",
        552,
        "5.2.2 Mailbox full: user is over quota",
    );
    let site = Site::new(server.port);
    site.subscribe(&["full@example.org", "ada@example.org"]);
    site.herald(&["send", "--post", "hello"]).code(4);
    assert_eq!(site.status_of("full@example.org"), SubscriberStatus::Active);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .code(4);
    assert_eq!(site.status_of("full@example.org"), SubscriberStatus::Active);
    site.post("third", 1);
    site.herald(&["send"]).code(4);
    assert_eq!(
        site.status_of("full@example.org"),
        SubscriberStatus::Bounced
    );
    let listed = stdout(
        &site
            .herald(&["subscribers", "list", "full@example.org"])
            .success(),
    );
    assert!(
        listed.contains("soft bounce") && listed.contains("5.2.2"),
        "{listed}"
    );
    assert_eq!(server.recipients().len(), 3, "ada got all three");
}

#[test]
fn a_4xx_that_outlasts_the_retries_counts_until_a_later_run_gets_through() {
    let server = SmtpServer::start();
    server.refuse(
        "slow@example.org",
        452,
        "4.2.2 Mailbox over quota, try again later",
    );
    let site = Site::new(server.port);
    site.email_config("soft_bounce_limit = 2");
    site.subscribe(&["slow@example.org"]);
    let bounced_column = |title: &str| {
        let status = stdout(&site.herald(&["status"]).success());
        let row = status
            .lines()
            .find(|l| l.ends_with(title))
            .unwrap_or_else(|| panic!("{status}"));
        row.split_whitespace().nth(5).unwrap().to_string()
    };
    site.herald(&["send", "--post", "hello"]).code(4);
    assert_eq!(bounced_column("Hello, subscribers"), "1");

    // The next run gets through: the post is delivered and no longer a bounce.
    server.refuse("slow@example.org", 250, "ok");
    site.herald(&["send"]).success();
    assert_eq!(server.recipients(), ["slow@example.org"]);
    assert_eq!(bounced_column("Hello, subscribers"), "0");

    // So one more post that does not clear is one in a row, not two; and
    // the same post retried is still one.
    server.refuse(
        "slow@example.org",
        452,
        "4.2.2 Mailbox over quota, try again later",
    );
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .code(4);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .code(4);
    assert_eq!(site.status_of("slow@example.org"), SubscriberStatus::Active);
    site.post("third", 1);
    site.herald(&["send"]).code(4);
    assert_eq!(
        site.status_of("slow@example.org"),
        SubscriberStatus::Bounced
    );
}
