//! `herald bounces`: the fixtures (tests/fixtures/bounces, in the shapes
//! real mail systems send; expected.tsv says what each must do) read from
//! a Maildir and from an mbox by the real binary; a second reading counts
//! nothing again; and the whole path end to end: a real SMTP server
//! refuses one reader, a later DSN arrives for another, and the next post
//! reaches neither.

use std::path::Path;

use herald::ledger::SubscriberStatus;

use super::server::SmtpServer;
use super::{Site, stdout};

const FIXTURES: &str = "tests/fixtures/bounces";

struct Expected {
    file: String,
    outcome: String,
    address: String,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("expected.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            Expected {
                file: fields[0].into(),
                outcome: fields[1].into(),
                address: fields[2].into(),
            }
        })
        .collect()
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(file)).unwrap()
}

/// A site with every reader the fixtures name on its list.
fn site_with_fixture_readers() -> Site {
    let site = Site::new(1);
    let all = expected();
    let addresses: Vec<&str> = all.iter().map(|e| e.address.as_str()).collect();
    site.subscribe(&addresses);
    site
}

/// `--list` output: message origin -> what became of it.
fn outcomes(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(origin, said)| (origin.to_string(), said.to_string()))
        .collect()
}

fn check_outcomes(
    site: &Site,
    listed: &[(String, String)],
    origin_of: impl Fn(usize, &str) -> String,
) {
    for (i, e) in expected().iter().enumerate() {
        let origin = origin_of(i, &e.file);
        let said = &listed
            .iter()
            .find(|(o, _)| o.ends_with(&origin))
            .unwrap_or_else(|| panic!("{origin} not listed in {listed:?}"))
            .1;
        let status = site.status_of(&e.address);
        let (fragment, want) = match e.outcome.as_str() {
            "hard" => (
                format!("hard bounce of {}: marked bounced", e.address),
                SubscriberStatus::Bounced,
            ),
            "soft" => (
                format!("soft bounce of {}: counted", e.address),
                SubscriberStatus::Active,
            ),
            "complaint" => (
                format!("complaint by {}: unsubscribed", e.address),
                SubscriberStatus::Unsubscribed,
            ),
            "message" => (
                "refused for the message, the reader stays".to_string(),
                SubscriberStatus::Active,
            ),
            "not-a-bounce" => ("not a bounce".to_string(), SubscriberStatus::Active),
            other => panic!("expected.tsv: unknown outcome {other}"),
        };
        assert!(
            said.contains(&fragment),
            "{}: said {said:?}, wanted {fragment:?}",
            e.file
        );
        assert_eq!(status, want, "{}: {} is {status:?}", e.file, e.address);
    }
}

#[test]
fn every_fixture_from_a_maildir_does_what_it_should_and_a_second_reading_counts_nothing() {
    let site = site_with_fixture_readers();
    let messages: Vec<(String, Vec<u8>)> = expected()
        .iter()
        .map(|e| (e.file.clone(), fixture_bytes(&e.file)))
        .collect();
    let maildir = site.maildir("Maildir", &messages);
    let maildir = maildir.to_str().unwrap();
    let first = stdout(&site.herald(&["bounces", "--list", maildir]).success());
    check_outcomes(&site, &outcomes(&first), |_, file| format!("new/{file}"));
    assert!(
        first.contains("22 messages: 10 hard bounces, 5 soft, 3 complaints, 1 about the message only, 0 unmatched, 0 already counted, 3 not bounces"),
        "{first}"
    );

    let listed = stdout(
        &site
            .herald(&["subscribers", "list", "--status", "bounced"])
            .success(),
    );
    let kim = listed
        .lines()
        .find(|l| l.starts_with("kim@mail.example.com"))
        .unwrap();
    assert!(
        kim.contains("hard bounce: 550 5.1.1") && kim.contains("User unknown"),
        "{kim}"
    );

    let second = stdout(&site.herald(&["bounces", maildir]).success());
    assert!(
        second.contains("22 messages: 0 hard bounces, 0 soft, 0 complaints, 1 about the message only, 0 unmatched, 18 already counted"),
        "{second}"
    );
    // The soft bounce was not counted twice: one post, one count.
    assert_eq!(
        site.status_of("lee@mail.example.com"),
        SubscriberStatus::Active
    );
}

#[test]
fn the_same_fixtures_in_an_mbox_give_the_same_outcomes_and_a_dry_run_changes_nothing() {
    let site = site_with_fixture_readers();
    let mut mbox = Vec::new();
    for e in expected() {
        mbox.extend_from_slice(b"From MAILER-DAEMON Fri May 24 10:12:44 2024\n");
        for line in String::from_utf8(fixture_bytes(&e.file)).unwrap().lines() {
            // mboxrd: a body line starting "From " is quoted.
            if line.trim_start_matches('>').starts_with("From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line.as_bytes());
            mbox.push(b'\n');
        }
        mbox.push(b'\n');
    }
    let path = site.path().join("bounces.mbox");
    std::fs::write(&path, mbox).unwrap();
    let path = path.to_str().unwrap();

    let dry = stdout(&site.herald(&["bounces", "--dry-run", path]).success());
    assert!(
        dry.contains("10 hard bounces") && dry.contains("nothing was recorded"),
        "{dry}"
    );
    assert_eq!(
        site.status_of("kim@mail.example.com"),
        SubscriberStatus::Active
    );

    let out = stdout(&site.herald(&["bounces", "--list", path]).success());
    check_outcomes(&site, &outcomes(&out), |i, _| format!(" #{}", i + 1));
}

#[test]
fn a_path_that_is_no_mailbox_is_refused_with_what_to_give() {
    let site = Site::new(1);
    std::fs::create_dir_all(site.path().join("empty")).unwrap();
    let out = site.herald(&["bounces", "empty"]).code(2);
    assert!(
        super::stderr(&out).contains("not a Maildir"),
        "{}",
        super::stderr(&out)
    );
    let out = site.herald(&["bounces", "nowhere"]).code(2);
    assert!(
        super::stderr(&out).contains("no such file or folder"),
        "{}",
        super::stderr(&out)
    );
    std::fs::write(site.path().join("notes.txt"), "just some text\n").unwrap();
    let out = site.herald(&["bounces", "notes.txt"]).code(2);
    assert!(
        super::stderr(&out).contains("not an mbox"),
        "{}",
        super::stderr(&out)
    );
}

/// A Postfix DSN, as it arrives at `to`, about `recipient`, returning the
/// original's headers (`original`, may be empty).
fn dsn(to: &str, recipient: &str, original: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\nDelivered-To: {to}\nFrom: MAILER-DAEMON@relay.test (Mail Delivery System)\n\
         To: {to}\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\
         MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\
         Message-Id: <dsn.{recipient}@relay.test>\n\n--B\nContent-Type: text/plain\n\n\
         <{recipient}>: host mx.far.test said: 550 5.1.1 no such user\n\n--B\n\
         Content-Type: message/delivery-status\n\nReporting-MTA: dns; relay.test\n\n\
         Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: no such user\n\n--B\n\
         Content-Type: text/rfc822-headers\n\n{original}\n--B--\n"
    )
    .into_bytes()
}

#[test]
fn a_550_at_send_time_and_a_later_dsn_keep_both_readers_from_the_next_post() {
    let server = SmtpServer::start();
    server.refuse(
        "ann@example.org",
        550,
        "5.1.1 <ann@example.org>: Recipient address rejected: User unknown",
    );
    let site = Site::new(server.port);
    site.email_config("envelope_from = \"bounces+{{ token }}@notes.test\"");
    site.subscribe(&["ann@example.org", "bea@example.org", "cal@example.org"]);
    site.herald(&["send", "--post", "hello"]).code(4);
    assert_eq!(server.recipients(), ["bea@example.org", "cal@example.org"]);
    assert_eq!(site.status_of("ann@example.org"), SubscriberStatus::Bounced);

    // Each copy went with its own envelope sender, naming the reader.
    let bea_token = site
        .ledger()
        .subscriber("bea@example.org")
        .unwrap()
        .unwrap()
        .token;
    let bea_copy = server
        .received()
        .into_iter()
        .find(|r| r.to == ["bea@example.org"])
        .unwrap();
    assert!(
        bea_copy.from.starts_with(&format!("bounces+{bea_token}-"))
            && bea_copy.from.ends_with("@notes.test"),
        "{}",
        bea_copy.from
    );

    // Bea's server took it, then bounced it from a forward: the DSN names
    // another address and returns no headers; only the VERP address says whose.
    let bounce = dsn(&bea_copy.from, "bea.old@far.test", "");
    let maildir = site.maildir("Maildir", &[("1716543210.M1P1.mail".into(), bounce)]);
    let out = stdout(
        &site
            .herald(&["bounces", maildir.to_str().unwrap()])
            .success(),
    );
    assert!(out.contains("bounced: bea@example.org"), "{out}");
    assert_eq!(site.status_of("bea@example.org"), SubscriberStatus::Bounced);

    let status = stdout(&site.herald(&["status"]).success());
    let row = status
        .lines()
        .find(|l| l.ends_with("Hello, subscribers"))
        .unwrap();
    let columns: Vec<&str> = row.split_whitespace().collect();
    // Two were sent (Bea's stays sent: the server took it), one failed, two bounced.
    assert_eq!(
        &columns[..7],
        ["2", "0", "0", "0", "1", "2", "0"],
        "{status}"
    );

    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let second: Vec<String> = server.received()[2..]
        .iter()
        .flat_map(|r| r.to.clone())
        .collect();
    assert_eq!(second, ["cal@example.org"]);
}

#[test]
fn a_report_without_verp_is_matched_by_the_returned_message_id() {
    let server = SmtpServer::start();
    let site = Site::new(server.port);
    site.subscribe(&["cal@example.org"]);
    site.herald(&["send", "--post", "hello"]).success();
    let copy = String::from_utf8(server.received()[0].bytes.clone()).unwrap();
    let message_id = copy
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap()
        .to_string();
    let original = format!("From: Jane Doe <jane@notes.test>\nTo: cal@example.org\n{message_id}\n");
    let bounce = dsn("bounces@notes.test", "someone.else@far.test", &original);
    let maildir = site.maildir("Maildir", &[("1.M1.mail".into(), bounce)]);
    let out = stdout(
        &site
            .herald(&["bounces", "--list", maildir.to_str().unwrap()])
            .success(),
    );
    assert!(
        out.contains("hard bounce of cal@example.org: marked bounced"),
        "{out}"
    );
    let status = stdout(&site.herald(&["status"]).success());
    let row = status
        .lines()
        .find(|l| l.ends_with("Hello, subscribers"))
        .unwrap();
    assert_eq!(row.split_whitespace().nth(5), Some("1"), "{status}");

    // A bounce for an address nobody on the list has is unmatched, and changes nothing.
    let stranger = dsn("bounces@notes.test", "nobody@far.test", "");
    let other = site.maildir("Other", &[("2.M2.mail".into(), stranger)]);
    let out = stdout(&site.herald(&["bounces", other.to_str().unwrap()]).success());
    assert!(out.contains("1 unmatched"), "{out}");
}

#[test]
fn a_bounce_in_words_naming_a_crowd_bounces_nobody() {
    // herald sends each copy to one reader, so a bounce of one names one
    // (a forward may add a hop or two). A text naming a thousand addresses
    // is no bounce of herald's, whatever it says; read address by address
    // against the whole text it would also cost the square of its length.
    let site = Site::new(1);
    let readers = ["ann@example.org", "bea@example.org", "cal@example.org"];
    site.subscribe(&readers);
    let mut text = String::from(
        "From: Mail Delivery System <Mailer-Daemon@relay.test>\nTo: jane@notes.test\n\
         Subject: Mail delivery failed: returning message to sender\n\
         Message-Id: <crowd@relay.test>\n\n\
         This message was created automatically by mail delivery software.\n\n\
         A message that you sent could not be delivered to one or more of its\n\
         recipients. This is a permanent error. The following address(es) failed:\n\n",
    );
    let strangers = (0..1000).map(|n| format!("stranger{n}@far.test"));
    for address in readers.iter().map(|r| r.to_string()).chain(strangers) {
        text.push_str(&format!("  {address}\n    550 5.1.1 no such user\n"));
    }
    let maildir = site.maildir("Maildir", &[("1.M1P1.mail".into(), text.into_bytes())]);
    let out = stdout(
        &site
            .herald(&["bounces", maildir.to_str().unwrap()])
            .success(),
    );
    assert!(out.contains("1 not bounces"), "{out}");
    for reader in readers {
        assert_eq!(site.status_of(reader), SubscriberStatus::Active, "{out}");
    }
}
