//! The whole loop: sign up on the form, confirm from the mail, receive the
//! next post, leave with the one-click URL of that post's List-Unsubscribe,
//! and receive nothing after.

use std::time::Duration;

use herald::ledger::SubscriberStatus;
use mail_parser::{HeaderValue, MessageParser};
use reqwest::StatusCode;

use crate::{PUBLIC_URL, Site, SmtpServer, confirm_link, stamp_of, text_of};

/// A header's text, whatever form mail-parser gives it.
fn header(bytes: &[u8], name: &str) -> String {
    let message = MessageParser::default().parse(bytes).unwrap();
    match message.header(name) {
        Some(HeaderValue::Text(text)) => text.to_string(),
        Some(HeaderValue::TextList(list)) => list.join(", "),
        Some(HeaderValue::Address(address)) => address
            .iter()
            .filter_map(|a| a.address())
            .collect::<Vec<_>>()
            .join(", "),
        other => panic!("{name}: {other:?}"),
    }
}

/// The raw value of a header, unfolded.
fn raw_header(bytes: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(bytes)
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    let prefix = format!("{}: ", name.to_ascii_lowercase());
    text.lines()
        .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_string())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn a_reader_signs_up_confirms_gets_the_next_post_and_leaves_with_one_click() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "min_fill_time = \"1s\"");
    // The two posts already there are the archive.
    site.herald(&["send", "--mark-sent"]).success();
    let serve = site.serve();
    let client = serve.client();

    // The form, filled in as a person does: not at once.
    let form = client.get(serve.url("/subscribe")).send().unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let page = form.text().unwrap();
    assert!(
        page.contains("<title>Subscribe by email · Working notes</title>"),
        "{page}"
    );
    assert!(page.contains("name=\"viewport\""), "{page}");
    assert!(page.contains("<label for=\"herald-email\">"), "{page}");
    let stamp = stamp_of(&page);
    std::thread::sleep(Duration::from_millis(1100));
    let answer = client
        .post(serve.url("/subscribe"))
        .form(&[
            ("email", "Ada@Notes.test"),
            ("name", "Ada <b>Lovelace</b> http://spam.test"),
            ("website", ""),
            ("stamp", &stamp),
        ])
        .send()
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().unwrap().contains("Check your inbox"));

    // The confirmation mail: the link, and nothing the submitter typed.
    let mail = smtp.wait_for("ada@notes.test", 1).remove(0);
    let raw = String::from_utf8_lossy(&mail.bytes).into_owned();
    assert!(
        !raw.contains("Lovelace") && !raw.contains("spam.test"),
        "{raw}"
    );
    assert_eq!(
        header(&mail.bytes, "Subject"),
        "Confirm your subscription to Working notes"
    );
    let link = confirm_link(&mail.bytes);
    assert!(
        link.starts_with(&format!("{PUBLIC_URL}/confirm?t=")),
        "{link}"
    );
    // The address is nowhere in the link, in any spelling (not the bare
    // name: a random signature may hold "ada").
    let lower = link.to_lowercase();
    assert!(
        !lower.contains("ada@") && !lower.contains("ada%40") && !lower.contains("notes.test"),
        "{link}"
    );
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Pending)
    );

    // A link scanner's GET shows the button and confirms nothing.
    let page = client.get(&link).send().unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().unwrap();
    assert!(page.contains("Confirm my subscription</button>"), "{page}");
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Pending)
    );
    let token = link.split("?t=").nth(1).unwrap();
    let confirmed = client
        .post(serve.url("/confirm"))
        .form(&[("t", &*percent_decoded(token))])
        .send()
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(confirmed.text().unwrap().contains("You are subscribed"));
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Active)
    );

    // The next post reaches them, with a one-click link to this server.
    site.post("2025-06-01-next.md", "The next post");
    site.herald(&["send"]).success();
    let post = smtp.wait_for("ada@notes.test", 2).remove(1);
    assert_eq!(header(&post.bytes, "Subject"), "The next post");
    let list_unsubscribe = raw_header(&post.bytes, "List-Unsubscribe");
    assert_eq!(
        raw_header(&post.bytes, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let https = list_unsubscribe
        .split(',')
        .map(|part| part.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|part| part.starts_with("http"))
        .unwrap_or_else(|| panic!("no web URL in {list_unsubscribe}"))
        .to_string();
    assert!(
        list_unsubscribe.contains("<mailto:jane+unsubscribe@notes.test"),
        "{list_unsubscribe}"
    );
    assert!(
        https.starts_with(&format!("{PUBLIC_URL}/unsubscribe?t=")),
        "{https}"
    );
    assert!(
        text_of(&post.bytes).contains(&https),
        "the template's unsubscribe_url is the same link"
    );

    // A scanner's GET of it changes nothing; the mail client's one-click POST does.
    assert_eq!(client.get(&https).send().unwrap().status(), StatusCode::OK);
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Active)
    );
    let left = client
        .post(&https)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    assert!(left.text().unwrap().contains("You are unsubscribed"));
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Unsubscribed)
    );

    // The post after that: nothing for them. A token works any number of times.
    site.post("2025-06-02-after.md", "After they left");
    site.herald(&["send"]).success();
    assert_eq!(client.post(&https).send().unwrap().status(), StatusCode::OK);
    assert_eq!(smtp.to("ada@notes.test").len(), 2);
    assert_eq!(
        site.status("ada@notes.test"),
        Some(SubscriberStatus::Unsubscribed)
    );
    drop(serve);
}

/// `%2E` and friends back to text (reqwest's form encodes again).
fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("t={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[test]
fn the_same_answer_comes_back_for_a_new_a_pending_and_a_subscribed_address() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "min_fill_time = \"1s\"");
    site.ledger()
        .add_subscriber("old@notes.test", Some("Old"))
        .unwrap();
    let serve = site.serve();
    let client = serve.client();
    let stamp = crate::stamp(&site, 30);
    let answers: Vec<(StatusCode, String)> = ["new@notes.test", "new@notes.test", "old@notes.test"]
        .iter()
        .map(|email| {
            let response = crate::sign_up(&serve, &client, &[("email", email), ("stamp", &stamp)]);
            (response.status(), response.text().unwrap())
        })
        .collect();
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[0].0, StatusCode::OK);
    smtp.wait_for("new@notes.test", 1);
    // The subscribed reader is not mailed a confirmation.
    crate::sign_up(
        &serve,
        &client,
        &[("email", "last@notes.test"), ("stamp", &stamp)],
    );
    smtp.wait_for("last@notes.test", 1);
    assert!(smtp.to("old@notes.test").is_empty());
}

#[test]
fn a_confirmation_mail_is_signed_and_sent_from_the_bounce_address_like_a_post() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let keygen = site
        .herald(&["dkim", "keygen", "--selector", "s1"])
        .success();
    let printed = String::from_utf8_lossy(&keygen.get_output().stdout).into_owned();
    let record = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("value: "))
        .unwrap_or_else(|| panic!("no record in {printed}"))
        .to_string();
    let (_, dkim) = printed.split_once("[email.dkim]").unwrap();
    let dkim: Vec<&str> = dkim
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    site.edit_config(|text| {
        let text = text.replacen(
            "\n[serve]\n",
            "envelope_from = \"bounces+{{ token }}@notes.test\"\n\n[serve]\n",
            1,
        );
        format!("{text}\n[email.dkim]\n{}\n", dkim.join("\n"))
    });
    let serve = site.serve();
    let client = serve.client();
    let stamp = crate::stamp(&site, 30);
    crate::sign_up(
        &serve,
        &client,
        &[("email", "ada@notes.test"), ("stamp", &stamp)],
    );
    let mail = smtp.wait_for("ada@notes.test", 1).remove(0);
    crate::dkim_verify::verify(&mail.bytes, "s1._domainkey.notes.test", &record)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&mail.bytes)));
    let token = site
        .ledger()
        .subscriber("ada@notes.test")
        .unwrap()
        .unwrap()
        .token;
    assert!(
        mail.from.starts_with(&format!("bounces+{token}-")) && mail.from.ends_with("@notes.test"),
        "{}",
        mail.from
    );
}
