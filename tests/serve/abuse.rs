//! List bombing and forged links: what a robot or a prankster can do, and
//! that none of it reaches anyone's inbox more than once a day.

use herald::ledger::SubscriberStatus;
use reqwest::StatusCode;

use crate::{Site, SmtpServer, sign_up, stamp};

#[test]
fn a_hundred_signups_of_one_address_send_one_mail() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "per_ip = \"1000/h\"");
    let serve = site.serve();
    let client = serve.client();
    let stamp = stamp(&site, 30);
    let first = sign_up(
        &serve,
        &client,
        &[("email", "victim@notes.test"), ("stamp", &stamp)],
    );
    let page = first.text().unwrap();
    for _ in 1..100 {
        let again = sign_up(
            &serve,
            &client,
            &[("email", "victim@notes.test"), ("stamp", &stamp)],
        );
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.text().unwrap(), page);
    }
    // The signups are handled in order: once the last one's mail is here, all are done.
    sign_up(
        &serve,
        &client,
        &[("email", "sentinel@notes.test"), ("stamp", &stamp)],
    );
    smtp.wait_for("sentinel@notes.test", 1);
    assert_eq!(smtp.to("victim@notes.test").len(), 1);
    assert_eq!(
        site.status("victim@notes.test"),
        Some(SubscriberStatus::Pending)
    );
}

#[test]
fn plus_and_dot_spellings_of_one_mailbox_get_one_mail_a_day_between_them() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "per_ip = \"1000/h\"");
    let serve = site.serve();
    let client = serve.client();
    let stamp = stamp(&site, 30);
    // Each lands in one inbox: a robot could mail it once per spelling.
    let victim = [
        "victim@notes.test",
        "victim+1@notes.test",
        "Victim+News@notes.test",
        "victim+a+b@notes.test",
    ];
    let gmail = [
        "ada.lovelace@gmail.com",
        "adalovelace@gmail.com",
        "a.d.a.lovelace+x@gmail.com",
        "AdaLovelace@googlemail.com",
    ];
    for email in victim.iter().chain(&gmail) {
        let answer = sign_up(&serve, &client, &[("email", email), ("stamp", &stamp)]);
        assert_eq!(answer.status(), StatusCode::OK);
    }
    sign_up(
        &serve,
        &client,
        &[("email", "sentinel@notes.test"), ("stamp", &stamp)],
    );
    smtp.wait_for("sentinel@notes.test", 1);
    let mailed = |spellings: &[&str]| -> usize {
        spellings
            .iter()
            .map(|email| smtp.to(&email.to_ascii_lowercase()).len())
            .sum()
    };
    assert_eq!(mailed(&victim), 1);
    assert_eq!(mailed(&gmail), 1);
    // A dot elsewhere than Gmail is another mailbox, and is mailed.
    sign_up(
        &serve,
        &client,
        &[("email", "vic.tim@notes.test"), ("stamp", &stamp)],
    );
    smtp.wait_for("vic.tim@notes.test", 1);
}

#[test]
fn a_burst_from_one_address_is_limited_and_others_still_get_in() {
    let smtp = SmtpServer::start();
    // The test's peer is 127.0.0.1, trusted as the proxy by default.
    let site = Site::new(&smtp, "per_ip = \"5/h\"");
    let serve = site.serve();
    let client = serve.client();
    let stamp = stamp(&site, 30);
    let from = |client_ip: &str, email: &str| {
        client
            .post(serve.url("/subscribe"))
            .header("x-forwarded-for", client_ip)
            .form(&[("email", email), ("stamp", &stamp)])
            .send()
            .unwrap()
            .status()
    };
    let burst: Vec<StatusCode> = (0..8)
        .map(|n| from("198.51.100.7", &format!("r{n}@notes.test")))
        .collect();
    assert_eq!(&burst[..5], &[StatusCode::OK; 5]);
    assert_eq!(&burst[5..], &[StatusCode::TOO_MANY_REQUESTS; 3]);
    // Another client behind the same proxy is counted apart.
    assert_eq!(from("198.51.100.8", "other@notes.test"), StatusCode::OK);
    // So is an IPv6 client, per /64: another address in it is the same client.
    for n in 0..5 {
        assert_eq!(
            from(&format!("2001:db8:1:2::{n}"), &format!("v{n}@notes.test")),
            StatusCode::OK
        );
    }
    assert_eq!(
        from("2001:db8:1:2::99", "v9@notes.test"),
        StatusCode::TOO_MANY_REQUESTS
    );
    smtp.wait_for("other@notes.test", 1);
    smtp.wait_for("v4@notes.test", 1);
    assert!(smtp.to("r5@notes.test").is_empty());
}

#[test]
fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "per_ip = \"3/h\"\ntrusted_proxies = [\"192.0.2.1\"]");
    let serve = site.serve();
    let client = serve.client();
    let stamp = stamp(&site, 30);
    let statuses: Vec<StatusCode> = (0..5)
        .map(|n| {
            client
                .post(serve.url("/subscribe"))
                // A robot pretending to be a new client each time.
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .form(&[("email", &*format!("x{n}@notes.test")), ("stamp", &stamp)])
                .send()
                .unwrap()
                .status()
        })
        .collect();
    assert_eq!(&statuses[..3], &[StatusCode::OK; 3]);
    assert_eq!(&statuses[3..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
}

#[test]
fn a_honeypot_hit_a_too_fast_form_or_a_forged_stamp_sends_nothing() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "min_fill_time = \"5s\"");
    let serve = site.serve();
    let client = serve.client();
    let old = stamp(&site, 30);
    let fresh = stamp(&site, 0);
    let forged = format!(
        "{}.AAAAAAAAAAAAAAAAAAAAAA",
        chrono::Utc::now().timestamp() - 30
    );
    let pages: Vec<(StatusCode, String)> = [
        [
            ("email", "honey@notes.test"),
            ("website", "https://spam.test"),
            ("stamp", &*old),
        ],
        [
            ("email", "fast@notes.test"),
            ("website", ""),
            ("stamp", &*fresh),
        ],
        [
            ("email", "forged@notes.test"),
            ("website", ""),
            ("stamp", &*forged),
        ],
        [
            ("email", "person@notes.test"),
            ("website", ""),
            ("stamp", &*old),
        ],
    ]
    .iter()
    .map(|fields| {
        let response = sign_up(&serve, &client, fields);
        (response.status(), response.text().unwrap())
    })
    .collect();
    // The robot is told what a person is told.
    assert!(pages.iter().all(|p| *p == pages[3]), "{pages:?}");
    smtp.wait_for("person@notes.test", 1);
    assert_eq!(smtp.received().len(), 1, "only the person's mail");
    for robot in ["honey@notes.test", "fast@notes.test", "forged@notes.test"] {
        assert_eq!(site.status(robot), None);
    }
}

#[test]
fn a_form_without_a_stamp_comes_back_filled_in_with_one() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let serve = site.serve();
    let client = serve.client();
    // As the snippet from `herald serve --form` posts it.
    let page = sign_up(
        &serve,
        &client,
        &[("email", "embed@notes.test"), ("website", "")],
    );
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().unwrap();
    assert!(page.contains("One more step"), "{page}");
    assert!(page.contains("value=\"embed@notes.test\""), "{page}");
    crate::stamp_of(&page);
    let bad = sign_up(
        &serve,
        &client,
        &[("email", "not an address"), ("stamp", &stamp(&site, 30))],
    );
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.text()
            .unwrap()
            .contains("does not look like an email address")
    );
    assert!(smtp.received().is_empty());
}

#[test]
fn another_sites_page_cannot_make_its_visitors_browsers_sign_strangers_up() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "per_ip = \"1000/h\"");
    let serve = site.serve();
    let client = serve.client();
    // A stamp fetched once and put in a hidden, self-submitting form on
    // another site: each visitor's browser would be a new client.
    let stamp = stamp(&site, 30);
    let from_page = |origin: Option<&str>, fetch_site: Option<&str>, email: &str| {
        let mut request = client
            .post(serve.url("/subscribe"))
            .form(&[("email", email), ("stamp", &*stamp)]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(fetch_site) = fetch_site {
            request = request.header("sec-fetch-site", fetch_site);
        }
        let response = request.send().unwrap();
        (response.status(), response.text().unwrap())
    };
    let (status, page) = from_page(
        Some("https://evil.test"),
        Some("cross-site"),
        "csrf@notes.test",
    );
    // A person who did mean it presses the button once more, on our page.
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("One more step"), "{page}");
    assert!(page.contains("value=\"csrf@notes.test\""), "{page}");
    // A browser without Sec-Fetch-Site still names the page's origin.
    from_page(Some("https://evil.test"), None, "old-browser@notes.test");
    // The blog's own pages (site.url) may embed the form, on another site too.
    from_page(
        Some("https://notes.test"),
        Some("cross-site"),
        "blog@notes.test",
    );
    // Our own page (its no-referrer policy makes the origin "null").
    from_page(Some("null"), Some("same-origin"), "own@notes.test");
    from_page(None, None, "script@notes.test");
    smtp.wait_for("blog@notes.test", 1);
    smtp.wait_for("own@notes.test", 1);
    smtp.wait_for("script@notes.test", 1);
    assert!(smtp.to("csrf@notes.test").is_empty());
    assert!(smtp.to("old-browser@notes.test").is_empty());
    assert_eq!(site.status("csrf@notes.test"), None);
}

#[test]
fn a_forged_or_expired_token_does_nothing_and_says_so() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let reader = site
        .ledger()
        .add_subscriber("reader@notes.test", None)
        .unwrap();
    let serve = site.serve();
    let client = serve.client();
    let keys = site.keys();
    let unsubscribe = keys.unsubscribe_token(&reader.token, &reader.email);
    let forged = [
        format!("{}.AAAAAAAAAAAAAAAAAAAAAA", reader.token),
        unsubscribe[..unsubscribe.len() - 2].to_string(),
        // Another address's token, or a confirmation token, is not an unsubscribe token.
        keys.unsubscribe_token(&reader.token, "other@notes.test"),
        keys.confirm_token(&reader.token, &reader.email, chrono::Utc::now()),
        "nonsense".to_string(),
        String::new(),
    ];
    for token in &forged {
        for response in [
            client
                .get(serve.url("/unsubscribe"))
                .query(&[("t", token)])
                .send()
                .unwrap(),
            client
                .post(serve.url("/unsubscribe"))
                .query(&[("t", token)])
                .body("List-Unsubscribe=One-Click")
                .send()
                .unwrap(),
        ] {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{token}");
            assert!(
                response.text().unwrap().contains("This link is not valid"),
                "{token}"
            );
        }
    }
    assert_eq!(
        site.status("reader@notes.test"),
        Some(SubscriberStatus::Active)
    );

    // A pending signup whose link is eight days old: expired, and it says so.
    let stamp = stamp(&site, 30);
    sign_up(
        &serve,
        &client,
        &[("email", "late@notes.test"), ("stamp", &stamp)],
    );
    smtp.wait_for("late@notes.test", 1);
    let late = site
        .ledger()
        .subscriber("late@notes.test")
        .unwrap()
        .unwrap();
    let issued = chrono::Utc::now() - chrono::Duration::days(8);
    let expired = keys.confirm_token(&late.token, &late.email, issued);
    for response in [
        client
            .get(serve.url("/confirm"))
            .query(&[("t", &expired)])
            .send()
            .unwrap(),
        client
            .post(serve.url("/confirm"))
            .form(&[("t", &expired)])
            .send()
            .unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::GONE);
        assert!(response.text().unwrap().contains("has expired"));
    }
    let forged_confirm = keys.confirm_token(&late.token, "someone@notes.test", chrono::Utc::now());
    let response = client
        .post(serve.url("/confirm"))
        .form(&[("t", &forged_confirm)])
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        site.status("late@notes.test"),
        Some(SubscriberStatus::Pending)
    );
}

#[test]
fn past_the_hourly_cap_signups_are_refused_politely() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "confirmations = \"2/h\"");
    let serve = site.serve();
    let client = serve.client();
    let stamp = stamp(&site, 30);
    for email in ["one@notes.test", "two@notes.test"] {
        assert_eq!(
            sign_up(&serve, &client, &[("email", email), ("stamp", &stamp)]).status(),
            StatusCode::OK
        );
        smtp.wait_for(email, 1);
    }
    let refused = sign_up(
        &serve,
        &client,
        &[("email", "three@notes.test"), ("stamp", &stamp)],
    );
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.text().unwrap().contains("Please try again"));
    assert_eq!(smtp.received().len(), 2);
    assert_eq!(site.status("three@notes.test"), None);
}

/// The `value` of the input named `name` in a page.
fn input(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + name.len()
        + 15;
    page[at..].split('"').next().unwrap().to_string()
}

/// What the page's script does: a number whose SHA-256 with the challenge
/// starts with the challenge's number of zero bits.
fn solve(challenge: &str) -> String {
    use sha2::{Digest, Sha256};
    let bits: u32 = challenge.split('.').next().unwrap().parse().unwrap();
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| {
            let digest = Sha256::digest(format!("{challenge}:{n}"));
            let zeros = digest
                .iter()
                .try_fold(0, |z, b| {
                    if *b == 0 {
                        Ok(z + 8)
                    } else {
                        Err(z + b.leading_zeros())
                    }
                })
                .unwrap_or_else(|z| z);
            zeros >= bits
        })
        .unwrap()
}

#[test]
fn with_proof_of_work_a_signup_needs_a_solved_challenge_and_each_counts_once() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "proof_of_work = 10");
    let serve = site.serve();
    let client = serve.client();
    let page = client
        .get(serve.url("/subscribe"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("<script src=\"work.js\""), "{page}");
    assert!(page.contains("<noscript>"), "{page}");
    let script = client.get(serve.url("/work.js")).send().unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().unwrap().contains("crypto.subtle.digest"));
    let challenge = input(&page, "work");
    let stamp = stamp(&site, 30);

    let unsolved = sign_up(
        &serve,
        &client,
        &[
            ("email", "ada@notes.test"),
            ("stamp", &stamp),
            ("work", &challenge),
            ("proof", ""),
        ],
    );
    assert!(
        unsolved
            .text()
            .unwrap()
            .contains("did not finish the anti-robot check")
    );
    let wrong = sign_up(
        &serve,
        &client,
        &[
            ("email", "ada@notes.test"),
            ("stamp", &stamp),
            ("work", &challenge),
            ("proof", "7"),
        ],
    );
    assert!(wrong.text().unwrap().contains("One more step"));

    let proof = solve(&challenge);
    let solved = [
        ("email", "ada@notes.test"),
        ("stamp", &*stamp),
        ("work", &*challenge),
        ("proof", &*proof),
    ];
    assert!(
        sign_up(&serve, &client, &solved)
            .text()
            .unwrap()
            .contains("Check your inbox")
    );
    smtp.wait_for("ada@notes.test", 1);
    // The same solution again, for someone else: taken silently, sent nothing.
    let replayed = [
        ("email", "bob@notes.test"),
        ("stamp", &*stamp),
        ("work", &*challenge),
        ("proof", &*proof),
    ];
    assert!(
        sign_up(&serve, &client, &replayed)
            .text()
            .unwrap()
            .contains("Check your inbox")
    );
    let fresh = input(
        &client
            .get(serve.url("/subscribe"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "work",
    );
    let sentinel = [
        ("email", "cy@notes.test"),
        ("stamp", &*stamp),
        ("work", &*fresh),
        ("proof", &*solve(&fresh)),
    ];
    sign_up(&serve, &client, &sentinel);
    smtp.wait_for("cy@notes.test", 1);
    assert!(smtp.to("bob@notes.test").is_empty());
}
