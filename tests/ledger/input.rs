//! What comes in from people and exports: addresses normalised once (IDNA,
//! display names, what no server takes), Mailchimp-shaped files with empty
//! status cells and other delimiters, tokens in place of addresses, names
//! changed, and hostile text kept off the terminal.

use super::{TestSite, fixture};
use predicates::prelude::*;

fn list(site: &TestSite) -> Vec<String> {
    site.stdout(&["subscribers", "list"])
        .lines()
        .map(|l| l.split('\t').take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn an_idn_domain_in_either_form_is_one_subscriber_stored_as_its_a_label() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "Grace <Grace@Exämple.COM>"])
        .success()
        .stdout("added grace@xn--exmple-cua.com\n");
    site.herald(&["subscribers", "add", "grace@xn--exmple-cua.com"])
        .code(2)
        .stderr(predicate::str::contains("already subscribed"));
    assert_eq!(list(&site), ["grace@xn--exmple-cua.com Grace active"]);
    site.herald(&["subscribers", "remove", "grace@exämple.com"])
        .success()
        .stdout("unsubscribed grace@xn--exmple-cua.com (was active)\n");
}

#[test]
fn addresses_no_server_takes_are_refused_with_the_reason() {
    let site = TestSite::new();
    for (address, why) in [
        ("\"a@b\"@example.org", "quoted local part"),
        ("a@[127.0.0.1]", "IP address"),
        ("zoë@example.org", "SMTPUTF8"),
        ("a@exa_mple.org", "not a valid domain"),
        ("a@localhost", "full domain"),
    ] {
        site.herald(&["subscribers", "add", address])
            .code(2)
            .stderr(predicate::str::contains(why));
    }
    assert!(list(&site).is_empty());
}

#[test]
fn add_with_a_new_name_renames_and_says_so() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "ada@example.org"])
        .success();
    site.herald(&["subscribers", "add", "ada@example.org", "--name", "Ada L."])
        .success()
        .stdout("ada@example.org is already subscribed; name changed to \"Ada L.\"\n");
    site.herald(&["subscribers", "add", "ada@example.org", "--name", "Ada L."])
        .code(2)
        .stderr(predicate::str::contains("already subscribed"));
    assert_eq!(list(&site), ["ada@example.org Ada L. active"]);
}

#[test]
fn remove_and_list_take_the_unsubscribe_token() {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "ada@example.org"])
        .success();
    site.herald(&["subscribers", "add", "bob@example.org"])
        .success();
    let token = site
        .ledger()
        .subscriber("bob@example.org")
        .unwrap()
        .unwrap()
        .token;
    assert!(
        site.stdout(&["subscribers", "list", &token.to_uppercase()])
            .starts_with("bob@example.org\t\tactive\t")
    );
    site.herald(&["subscribers", "remove", &token])
        .success()
        .stdout("unsubscribed bob@example.org (was active)\n");
    site.herald(&["subscribers", "remove", "0123456789abcdef0123456789abcdef"])
        .code(2)
        .stderr(predicate::str::contains("no subscriber has the token"));
    assert_eq!(
        list(&site),
        ["ada@example.org  active", "bob@example.org  unsubscribed"]
    );
}

#[test]
fn a_mailchimp_file_with_empty_unsub_times_and_semicolons_keeps_everyone_as_they_were() {
    let site = TestSite::new();
    site.herald(&[
        "subscribers",
        "import",
        &fixture("mailchimp-all-semicolon.csv"),
    ])
    .success()
    .stdout("4 added (1 unsubscribed, 1 bounced, never mailed), 0 already subscribed, 0 invalid\n");
    assert_eq!(
        list(&site),
        [
            "ada@example.org Ada Lovelace active",
            "grace@xn--exmple-cua.com Grace Hopper active",
            "edsger@example.org Edsger Dijkstra unsubscribed",
            "alan@example.org Alan Turing bounced",
        ]
    );
}

#[test]
fn a_tab_separated_file_is_read_and_a_file_without_an_email_column_names_its_columns() {
    let site = TestSite::new();
    std::fs::write(
        site.path("tabs.tsv"),
        "Name\tE-mail\tStatus\nZed\tZed Z <zed@example.org>\tsubscribed\n",
    )
    .unwrap();
    site.herald(&["subscribers", "import", "tabs.tsv"])
        .success()
        .stdout("1 added, 0 already subscribed, 0 invalid\n");
    assert_eq!(list(&site), ["zed@example.org Zed active"]);

    std::fs::write(site.path("people.csv"), "who;where\nada;London\n").unwrap();
    site.herald(&["subscribers", "import", "people.csv"])
        .code(1)
        .stderr(predicate::str::contains(
            "people.csv:1: no email column among the columns seen ([\"who\", \"where\"])",
        ));
}

#[test]
fn subscriber_text_reaches_the_terminal_with_its_control_characters_escaped() {
    let site = TestSite::new();
    std::fs::write(
        site.path("hostile.csv"),
        "email,name\neve@example.org,\"Eve\u{1b}]0;owned\u{7}\u{1b}[2J\r\nmallory@example.org\tactive\"\nbob@example.org,Bob\n",
    )
    .unwrap();
    site.herald(&["subscribers", "import", "hostile.csv"])
        .success();
    std::fs::write(
        site.path("posts/2024-01-01-evil.md"),
        "---\ntitle: \"Evil \\e]0;title\\a\\r\\nNext\"\ndate: 2024-01-01\n---\n\nBody\n",
    )
    .unwrap();
    // Mailed, so that `status` shows its title.
    site.herald(&["send", "--mark-sent"]).success();
    let status = site.stdout(&["status"]);
    assert!(status.contains("Evil \\e]0;title\\u{7} Next"), "{status}");
    for args in [&["subscribers", "list"][..], &["status"]] {
        let out = site.herald(args).success().get_output().stdout.clone();
        assert!(
            !out.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
            "{args:?}: {}",
            String::from_utf8_lossy(&out)
        );
    }
    let rows = site.stdout(&["subscribers", "list"]);
    assert_eq!(rows.lines().count(), 2, "{rows}");
    assert!(
        rows.contains("Eve\\e]0;owned\\u{7}\\e[2J\\r\\nmallory@example.org\\tactive"),
        "{rows}"
    );
    site.herald(&["subscribers", "add", "x\u{1b}[2J@example.org"])
        .code(2)
        .stderr(predicate::str::contains("\u{1b}").not());
}
