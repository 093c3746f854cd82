//! The service around the pages: the snippet, health, limits on size,
//! headers that keep tokens from leaking, and a clean stop.

use reqwest::StatusCode;

use crate::{Site, SmtpServer};

#[test]
fn serve_form_prints_a_form_that_posts_to_the_public_url() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let out = site.herald(&["serve", "--form"]).success();
    let html = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        html.contains("<form method=\"post\" action=\"http://news.test/newsletter/subscribe\">"),
        "{html}"
    );
    assert!(
        html.contains("name=\"email\"") && html.contains("name=\"website\""),
        "{html}"
    );
}

#[test]
fn serve_without_public_url_says_what_to_set() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let config = site.path().join("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("public_url = \"http://news.test/newsletter\"", ""),
    )
    .unwrap();
    let out = site.herald(&["serve", "--listen", "127.0.0.1:0"]).failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("serve.public_url"), "{err}");
}

#[test]
fn health_answers_and_pages_carry_headers_that_keep_tokens_private() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let serve = site.serve();
    let client = serve.client();
    let health = client.get(serve.url("/health")).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().unwrap(), "ok\n");
    // At the root too: a proxy that strips the path prefix.
    let root = client
        .get(format!("http://{}/health", serve.address))
        .send()
        .unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let page = client.get(serve.url("/subscribe")).send().unwrap();
    let headers = page.headers();
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(
        client.get(serve.url("/nowhere")).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn an_oversized_body_is_refused_and_sends_nothing() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let serve = site.serve();
    let client = serve.client();
    let big = format!("email=big%40notes.test&name={}", "x".repeat(64 * 1024));
    let response = client
        .post(serve.url("/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(smtp.received().is_empty());
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let serve = site.serve();
    assert_eq!(
        serve
            .client()
            .get(serve.url("/health"))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let address = serve.address;
    let stderr_before = serve.stderr();
    let status = serve.stop();
    assert!(status.success(), "{status:?} {stderr_before}");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "still listening"
    );
}

#[test]
fn serve_keeps_its_hold_on_the_ledger_and_other_commands_see_what_it_writes() {
    // `serve` holds two connections to the ledger. Another connection that
    // opens and closes it (and, if it thought itself the last, would fold
    // and delete the WAL) must not leave serve writing where nobody reads.
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let serve = site.serve();
    let client = serve.client();
    let stamp = crate::stamp(&site, 30);
    crate::sign_up(
        &serve,
        &client,
        &[("email", "ada@notes.test"), ("stamp", &stamp)],
    );
    let link = crate::confirm_link(&smtp.wait_for("ada@notes.test", 1)[0].bytes);
    site.herald(&["subscribers", "add", "bob@notes.test"])
        .success();
    // While serve runs, nobody else may take the ledger for themselves: a
    // connection that could (the sqlite3 shell, closing as it thinks the
    // last) would fold and delete the WAL serve still writes to.
    let other = rusqlite::Connection::open(site.ledger_path()).unwrap();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    other
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE;")
        .unwrap();
    let exclusive = other.execute_batch("BEGIN EXCLUSIVE; COMMIT;");
    assert!(
        exclusive.is_err(),
        "another process got the ledger to itself while serve had it open"
    );
    drop(other);
    let token = link.split("?t=").nth(1).unwrap();
    let confirmed = client
        .post(serve.url("/confirm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("t={token}"))
        .send()
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    let list = site
        .herald(&["subscribers", "list", "--status", "active"])
        .success();
    let list = String::from_utf8_lossy(&list.get_output().stdout).into_owned();
    assert!(
        list.contains("ada@notes.test") && list.contains("bob@notes.test"),
        "{list}"
    );
}

#[test]
fn a_rotated_secret_keeps_old_links_working_until_the_previous_one_is_dropped() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let reader = site
        .ledger()
        .add_subscriber("reader@notes.test", None)
        .unwrap();
    let old = {
        let serve = site.serve();
        let token = site.keys().unsubscribe_token(&reader.token, &reader.email);
        assert_eq!(serve.stop().code(), Some(0));
        token
    };
    let check = |token: &str| {
        let serve = site.serve();
        let response = serve
            .client()
            .get(serve.url("/unsubscribe"))
            .query(&[("t", token)])
            .send()
            .unwrap();
        response.status()
    };
    // Rotation as README says: the secret becomes the previous one, a new one is made.
    let dir = site.path().join(".herald");
    std::fs::rename(dir.join("secret"), dir.join("secret.previous")).unwrap();
    assert_eq!(check(&old), StatusCode::OK);
    let new = site.keys().unsubscribe_token(&reader.token, &reader.email);
    assert_ne!(new, old, "links are made with the new secret");
    assert_eq!(check(&new), StatusCode::OK);
    std::fs::remove_file(dir.join("secret.previous")).unwrap();
    assert_eq!(check(&old), StatusCode::BAD_REQUEST);
    assert_eq!(check(&new), StatusCode::OK);
}

#[test]
fn the_sites_own_page_template_dresses_every_page_and_a_broken_one_stops_serve() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "");
    let templates = site.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("page.html"),
        "<!doctype html><html lang=\"{{ site.language }}\"><title>{{ title }} | {{ site.title }}</title><body class=\"mine {{ page }}\">{{ body }}</body></html>",
    )
    .unwrap();
    let serve = site.serve();
    let client = serve.client();
    let page = client
        .get(serve.url("/subscribe"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.starts_with(
            "<!doctype html><html lang=\"en\"><title>Subscribe by email | Working notes</title>"
        ),
        "{page}"
    );
    assert!(page.contains("class=\"mine subscribe\""), "{page}");
    // herald's form is inside, with the fields the defences need.
    assert!(
        page.contains("name=\"stamp\"") && page.contains("name=\"website\""),
        "{page}"
    );
    drop(serve);

    std::fs::write(templates.join("page.html"), "<p>{{ body </p>\n").unwrap();
    let out = site.herald(&["serve", "--listen", "127.0.0.1:0"]).failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("templates/page.html:1"), "{err}");
    // `herald check` finds it first.
    let out = site.herald(&["check"]).failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("templates/page.html:1"), "{err}");
}
