//! The newsletter end to end: the real `herald` binary sending to a real
//! SMTP server (mailin-embedded, in this process, on 127.0.0.1), messages
//! read back with a real MIME parser (mail-parser) and checked part by
//! part; the ledger's promises (a re-run sends nothing, a crash is not
//! repeated); STARTTLS with a self-signed certificate; the outbox; preview.

mod support;
use support::copy_dir;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use herald::ledger::Ledger;
use mail_parser::{MessageParser, MimeHeaders};
use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One message as the server received it.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    bytes: Vec<u8>,
}

#[derive(Clone, Default)]
struct Mailbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Addresses the server refuses with 550.
    refuse: Arc<Vec<String>>,
    /// Addresses answered 451 this many times before being accepted.
    greylist: Arc<Mutex<Vec<(String, u32)>>>,
    current: Option<Received>,
}

impl Handler for Mailbox {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.refuse.iter().any(|r| r == to) {
            return response::NO_MAILBOX;
        }
        let mut greylist = self.greylist.lock().unwrap();
        if let Some((_, left)) = greylist.iter_mut().find(|(a, n)| a == to && *n > 0) {
            *left -= 1;
            return response::INTERNAL_ERROR;
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            to: to.to_vec(),
            bytes: Vec::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.bytes.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            self.received.lock().unwrap().push(done);
        }
        response::OK
    }
}

/// A running server: its port and what it has received.
struct SmtpServer {
    port: u16,
    mailbox: Mailbox,
}

impl SmtpServer {
    fn start(mailbox: Mailbox, tls: Option<(PathBuf, PathBuf)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler = mailbox.clone();
        // Several tests start servers; only the first install wins, which is all that is needed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // mailin's Error is not Send: the server is built and run inside its thread.
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server.with_name("localhost").with_num_threads(8);
            if let Some((cert, key)) = tls {
                server
                    .with_ssl(SslConfig::SelfSigned {
                        cert_path: cert.display().to_string(),
                        key_path: key.display().to_string(),
                    })
                    .unwrap();
            }
            server.with_tcp_listener(listener);
            let _ = server.serve();
        });
        SmtpServer { port, mailbox }
    }

    fn received(&self) -> Vec<Received> {
        self.mailbox.received.lock().unwrap().clone()
    }
}

/// A copy of tests/fixtures/email-site in a temporary folder.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(smtp: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(Path::new("tests/fixtures/email-site"), dir.path());
        let config = dir.path().join("config/herald.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(smtp);
        std::fs::write(&config, text).unwrap();
        Site { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ledger(&self) -> Ledger {
        let path = self.path().join(".herald/herald.db");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Ledger::open(&path).unwrap()
    }

    fn subscribe(&self, addresses: &[&str]) {
        let ledger = self.ledger();
        for address in addresses {
            ledger.add_subscriber(address, Some("Reader")).unwrap();
        }
    }

    fn post(&self, file: &str, text: &str) {
        std::fs::write(self.path().join("posts").join(file), text).unwrap();
    }

    fn herald(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("herald")
            .unwrap()
            .arg("-C")
            .arg(self.path())
            .args(args)
            .env_remove("HERALD_SMTP_PASSWORD")
            .assert()
    }
}

/// Appended to the fixture's config (its last section is [email]): the outbox, chosen.
const OUTBOX: &str = "transport = \"outbox\"\n";

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn outbox_files(site: &Site) -> usize {
    std::fs::read_dir(site.path().join("outbox")).map_or(0, |dir| dir.count())
}

fn smtp_section(port: u16) -> String {
    format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nconnections = 3\nrate = \"1000/s\"\ntimeout = \"5s\"\nretries = 3\nbackoff = \"10ms\"\n"
    )
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Checks one received message part by part.
fn check_message(bytes: &[u8], to: &str) {
    for line in bytes.split(|&b| b == b'\n') {
        assert!(line.len() <= 998, "a line of {} octets", line.len());
    }
    let message = MessageParser::default()
        .parse(bytes)
        .expect("a MIME message");
    let root = message.root_part();
    let ctype = root.content_type().expect("a Content-Type");
    assert_eq!(ctype.ctype(), "multipart");
    assert_eq!(ctype.subtype(), Some("alternative"));
    assert_eq!(root.sub_parts().map(<[_]>::len), Some(2));
    let text = message.body_text(0).expect("a text part");
    let html = message.body_html(0).expect("an HTML part");
    assert!(text.contains("preconditioned conjugate"), "{text}");
    assert!(!text.contains("<p>"), "the text part holds no HTML: {text}");
    assert!(
        html.contains("<pre style="),
        "code blocks carry inline styles"
    );
    assert!(
        html.contains("href=\"https://notes.test/notebooks/pcg.html\""),
        "links are absolute"
    );
    assert!(!html.contains("xHERALDx"), "every placeholder is filled");
    assert_eq!(
        message.subject(),
        Some("Faster sparse solvers, and what they cost")
    );
    assert_eq!(
        message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some(to)
    );
    assert_eq!(
        message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("jane@notes.test")
    );
    assert!(message.date().is_some());
    let id = message.message_id().expect("a Message-ID");
    assert!(
        id.starts_with("herald.") && id.ends_with("@notes.test"),
        "{id}"
    );
    let list_id = message.header_raw("List-Id").unwrap();
    assert!(list_id.contains("<blog.notes.test>"), "{list_id}");
    let unsubscribe = message.header_raw("List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.contains("<mailto:jane+unsubscribe@notes.test"),
        "{unsubscribe}"
    );
    assert!(
        unsubscribe.contains("https://notes.test/unsubscribe?t="),
        "{unsubscribe}"
    );
    assert_eq!(
        message.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
}

const NEW_POST: &str = "---\ntitle: A second post\ndate: 2024-04-01 08:00:00\n---\n\nMore notes.\n";

#[test]
fn send_delivers_one_well_formed_message_per_subscriber_and_a_rerun_sends_none() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org", "bob@example.org", "cy@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();

    let received = server.received();
    assert_eq!(received.len(), 3);
    let mut ids = Vec::new();
    for message in &received {
        assert_eq!(message.to.len(), 1);
        check_message(&message.bytes, &message.to[0]);
        let parsed = MessageParser::default().parse(&message.bytes).unwrap();
        ids.push(parsed.message_id().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one Message-ID per subscriber");

    let rerun = site.herald(&["send"]).success();
    assert_eq!(
        server.received().len(),
        3,
        "a re-run sends nothing: {}",
        stdout(&rerun)
    );

    site.post("2024-04-01-second.md", NEW_POST);
    site.herald(&["send"]).success();
    let received = server.received();
    assert_eq!(received.len(), 6, "a new post goes once to each subscriber");
    let mut to: Vec<&str> = received[3..].iter().map(|r| r.to[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["ada@example.org", "bob@example.org", "cy@example.org"]);
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 6);
}

#[test]
fn a_refused_address_is_failed_with_the_server_reply_and_the_others_still_go() {
    let mailbox = Mailbox {
        refuse: Arc::new(vec!["gone@example.org".into()]),
        greylist: Arc::new(Mutex::new(vec![("slow@example.org".into(), 2)])),
        ..Mailbox::default()
    };
    let server = SmtpServer::start(mailbox, None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&[
        "ada@example.org",
        "gone@example.org",
        "slow@example.org",
        "zed@example.org",
    ]);
    let out = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .code(4);
    let text = stdout(&out);
    assert!(
        text.contains("gone@example.org") && text.contains("550"),
        "{text}"
    );
    let mut to: Vec<String> = server.received().iter().map(|r| r.to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["ada@example.org", "slow@example.org", "zed@example.org"],
        "a 451 is retried"
    );
    // The failure is recorded: a re-run does not try the refused address again.
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 3);
}

#[test]
fn deliveries_left_pending_by_a_crash_are_reported_and_not_sent_again() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org", "bob@example.org"]);
    let post_id = "https://notes.test/blog/2024/03/02/faster-sparse-solvers/";
    {
        let mut ledger = site.ledger();
        let ada = ledger.undelivered(post_id, 0, 10).unwrap()[0].id;
        // What a crash between "pending" and "sent" leaves.
        ledger.mark_pending(post_id, &[ada]).unwrap();
    }
    let out = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let text = stdout(&out);
    assert!(text.contains("unknown"), "{text}");
    let to: Vec<String> = server.received().iter().map(|r| r.to[0].clone()).collect();
    assert_eq!(to, ["bob@example.org"]);

    site.herald(&[
        "send",
        "--post",
        "faster-sparse-solvers",
        "--resend-unknown",
    ])
    .success();
    let to: Vec<String> = server.received().iter().map(|r| r.to[0].clone()).collect();
    assert_eq!(to, ["bob@example.org", "ada@example.org"]);
}

#[test]
fn starttls_with_a_self_signed_certificate_trusted_through_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = SmtpServer::start(Mailbox::default(), Some((cert_path.clone(), key_path)));

    // Without trusting the certificate, nothing is sent and the user is told why.
    let site = Site::new(
        &smtp_section(server.port).replace("host = \"127.0.0.1\"", "host = \"localhost\""),
    );
    site.subscribe(&["ada@example.org"]);
    let out = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .failure();
    assert!(stdout(&out).contains("ca_file"), "{}", stdout(&out));
    assert!(server.received().is_empty());

    let trusted = format!(
        "{}ca_file = {:?}\n",
        smtp_section(server.port).replace("host = \"127.0.0.1\"", "host = \"localhost\""),
        cert_path.display().to_string()
    );
    let site = Site::new(&trusted);
    site.subscribe(&["ada@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let received = server.received();
    assert_eq!(received.len(), 1);
    check_message(&received[0].bytes, "ada@example.org");
}

#[test]
fn the_outbox_chosen_as_transport_gets_one_eml_per_subscriber() {
    let site = Site::new(OUTBOX);
    site.subscribe(&["ada@example.org", "bob@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let files: Vec<PathBuf> = std::fs::read_dir(site.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy();
        let to = if name.contains("ada@") {
            "ada@example.org"
        } else {
            "bob@example.org"
        };
        check_message(&bytes, to);
    }
    site.herald(&["send"]).success();
    assert_eq!(
        std::fs::read_dir(site.path().join("outbox"))
            .unwrap()
            .count(),
        2
    );
}

#[test]
fn a_first_run_on_an_archive_refuses_to_mail_every_post_and_mark_sent_adopts_it() {
    let site = Site::new(OUTBOX);
    site.subscribe(&["ada@example.org"]);
    let out = site.herald(&["send"]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("--mark-sent") && err.contains("--all"),
        "{err}"
    );
    assert!(!site.path().join("outbox").exists());

    site.herald(&["send", "--mark-sent"]).success();
    site.herald(&["send"]).success();
    assert!(
        !site.path().join("outbox").exists(),
        "adopted posts are never mailed"
    );
    site.post("2024-04-01-second.md", NEW_POST);
    site.herald(&["send"]).success();
    assert_eq!(
        std::fs::read_dir(site.path().join("outbox"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn dry_run_and_test_copies_leave_the_ledger_alone() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org"]);
    let out = site.herald(&["send", "--dry-run", "--all"]).success();
    assert!(
        stdout(&out).contains("would send to ada@example.org"),
        "{}",
        stdout(&out)
    );
    assert!(server.received().is_empty());
    site.herald(&[
        "send",
        "--to",
        "me@example.org",
        "--post",
        "faster-sparse-solvers",
    ])
    .success();
    assert_eq!(server.received().len(), 1);
    check_message(&server.received()[0].bytes, "me@example.org");
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(
        server.received().len(),
        2,
        "the test copy did not count as ada's"
    );
}

#[test]
fn preview_writes_html_text_and_eml() {
    let site = Site::new("");
    let out = site
        .herald(&["preview", "faster-sparse-solvers", "--out", "pv"])
        .success();
    assert!(stdout(&out).contains("subject: Faster sparse solvers"));
    let html = std::fs::read_to_string(site.path().join("pv/faster-sparse-solvers.html")).unwrap();
    assert!(html.contains("prefers-color-scheme"));
    let text = std::fs::read_to_string(site.path().join("pv/faster-sparse-solvers.txt")).unwrap();
    assert!(
        text.contains("Unsubscribe: https://notes.test/unsubscribe?t=preview-token"),
        "{text}"
    );
    let eml = std::fs::read(site.path().join("pv/faster-sparse-solvers.eml")).unwrap();
    check_message(&eml, "reader@example.org");
}

#[test]
fn a_title_cannot_inject_a_header() {
    let site = Site::new("");
    site.post(
        "2024-05-01-evil.md",
        "---\ntitle: \"Hi\\r\\nBcc: victim@example.org\"\ndate: 2024-05-01\n---\n\nx\n",
    );
    site.herald(&["preview", "evil", "--out", "pv"]).success();
    let eml = std::fs::read(site.path().join("pv/evil.eml")).unwrap();
    let message = MessageParser::default().parse(&eml).unwrap();
    assert!(message.header_raw("Bcc").is_none());
    assert_eq!(message.subject(), Some("Hi Bcc: victim@example.org"));
}

/// Where the fault server breaks the connection.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Drops the connection on the first DATA command, then behaves.
    DropAtDataOnce,
    /// Reads every message body, then drops the connection instead of answering.
    DropAfterBody,
}

/// A minimal SMTP peer for faults a real server cannot be made to produce
/// on demand: a connection lost before, or right after, the message body.
/// Returns its port and the number of messages it acknowledged with 250.
fn fault_server(fault: Fault) -> (u16, Arc<Mutex<usize>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(0usize));
    let dropped_once = Arc::new(Mutex::new(false));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(stream) = stream else { return };
            let counter = counter.clone();
            let dropped_once = dropped_once.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let _ = writer.write_all(b"220 fault ready\r\n");
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-fault\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            let mut once = dropped_once.lock().unwrap();
                            if fault == Fault::DropAtDataOnce && !*once {
                                *once = true;
                                return;
                            }
                            drop(once);
                            let _ = writer.write_all(b"354 go on\r\n");
                            loop {
                                line.clear();
                                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                            }
                            if fault == Fault::DropAfterBody {
                                return;
                            }
                            *counter.lock().unwrap() += 1;
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = writer.write_all(b"221 bye\r\n");
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if writer.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[test]
fn a_connection_dropped_before_the_body_is_retried_and_each_reader_gets_one_copy() {
    let (port, accepted) = fault_server(Fault::DropAtDataOnce);
    let site = Site::new(&smtp_section(port));
    site.subscribe(&["ada@example.org", "bob@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(*accepted.lock().unwrap(), 2);
    site.herald(&["send"]).success();
    assert_eq!(*accepted.lock().unwrap(), 2, "a re-run sends nothing");
}

#[test]
fn a_connection_lost_after_the_body_leaves_the_delivery_unknown_never_doubled() {
    let (port, _) = fault_server(Fault::DropAfterBody);
    let site = Site::new(&smtp_section(port));
    site.subscribe(&["ada@example.org"]);
    let first = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .code(4);
    let text = stdout(&first);
    assert!(text.contains("1 unknown"), "{text}");
    site.herald(&["status"])
        .success()
        .stdout(predicates::str::contains("1 unknown"));

    // Against a sound server the unknown delivery stays alone until asked for.
    let server = SmtpServer::start(Mailbox::default(), None);
    let config = site.path().join("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            &format!("port = {port}"),
            &format!("port = {}", server.port),
        ),
    )
    .unwrap();
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert!(
        server.received().is_empty(),
        "not re-sent without --resend-unknown"
    );
    site.herald(&[
        "send",
        "--post",
        "faster-sparse-solvers",
        "--resend-unknown",
    ])
    .success();
    assert_eq!(server.received().len(), 1);
}

#[test]
fn without_a_transport_send_refuses_and_uses_nothing_up() {
    let site = Site::new("");
    site.subscribe(&["ada@example.org"]);
    let out = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .failure();
    let err = stderr(&out);
    assert!(
        err.contains("no transport")
            && err.contains("[smtp]")
            && err.contains("transport = \"outbox\""),
        "{err}"
    );
    assert!(err.contains("herald preview"), "{err}");
    assert_eq!(outbox_files(&site), 0, "no implicit outbox");
    assert!(site.ledger().posts_with_deliveries().unwrap().is_empty());

    // Once SMTP is set, the post is still owed to everyone.
    let server = SmtpServer::start(Mailbox::default(), None);
    let config = site.path().join("config/herald.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&smtp_section(server.port));
    std::fs::write(&config, text).unwrap();
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(server.received().len(), 1);
}

#[test]
fn placeholder_addresses_are_refused_but_test_copies_and_dry_runs_go() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org"]);
    let config = site.path().join("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("https://notes.test/blog", "https://example.org")
            .replace("jane@notes.test", "you@example.com"),
    )
    .unwrap();
    let out = site
        .herald(&["send", "--post", "faster-sparse-solvers"])
        .failure();
    let err = stderr(&out);
    assert!(
        err.contains("site.url (https://example.org)")
            && err.contains("email.from (you@example.com)"),
        "{err}"
    );
    assert!(err.contains("placeholder"), "{err}");
    assert!(server.received().is_empty());
    assert!(site.ledger().posts_with_deliveries().unwrap().is_empty());

    site.herald(&["send", "--dry-run", "--post", "faster-sparse-solvers"])
        .success();
    site.herald(&[
        "send",
        "--to",
        "me@mine.test",
        "--post",
        "faster-sparse-solvers",
    ])
    .success();
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.received()[0].to, ["me@mine.test"]);
}

/// Three posts with one date, all made in one second.
fn same_day_posts(site: &Site) {
    for name in ["alpha", "beta", "gamma"] {
        site.post(
            &format!("2024-06-01-{name}.md"),
            &format!("---\ntitle: {name}\ndate: 2024-06-01 10:00:00\n---\n\nAbout {name}.\n"),
        );
    }
}

#[test]
fn a_post_is_new_when_it_is_new_to_the_list_not_when_its_date_is_late() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org"]);
    same_day_posts(&site);
    let refused = site.herald(&["send"]).failure();
    assert!(
        stderr(&refused).contains("--post SLUG"),
        "{}",
        stderr(&refused)
    );
    let first = site.herald(&["send", "--post", "alpha"]).success();
    assert!(
        stdout(&first).contains("4 post(s) already on the site are its archive"),
        "{}",
        stdout(&first)
    );
    assert_eq!(server.received().len(), 1);

    // beta and gamma, same date as alpha, were there when the list started.
    let again = site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 1, "{}", stdout(&again));
    assert!(
        !stdout(&again).contains("archive"),
        "said once: {}",
        stdout(&again)
    );

    // A back-dated post written now is new to the list.
    site.post(
        "2001-01-01-found-in-a-drawer.md",
        "---\ntitle: Found in a drawer\ndate: 2001-01-01\n---\n\nOld, but new here.\n",
    );
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 2);
    let text = String::from_utf8_lossy(&server.received()[1].bytes).into_owned();
    assert!(text.contains("Found in a drawer"), "{text}");
    site.herald(&["send", "--post", "beta"]).success();
    assert_eq!(server.received().len(), 3, "the archive goes when named");
}

#[test]
fn a_renamed_post_is_not_mailed_again_and_an_ambiguous_one_stops_the_send() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    site.subscribe(&["ada@example.org", "bob@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(server.received().len(), 2);

    let posts = site.path().join("posts");
    let old = posts.join("2024-03-02-faster-sparse-solvers.md");
    let text = std::fs::read_to_string(&old).unwrap();
    std::fs::remove_file(&old).unwrap();
    site.post("2024-03-02-fast-sparse-solvers.md", &text);
    let out = site.herald(&["send"]).success();
    assert!(stdout(&out).contains("carries over"), "{}", stdout(&out));
    assert_eq!(server.received().len(), 2, "nobody gets it twice");
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 2);

    // Renamed again, into two files: herald cannot tell which is the post it knew.
    std::fs::remove_file(posts.join("2024-03-02-fast-sparse-solvers.md")).unwrap();
    site.post("2024-03-02-sparse-a.md", &text);
    site.post("2024-03-02-sparse-b.md", &text);
    let out = site.herald(&["send"]).failure();
    let err = stderr(&out);
    assert!(
        err.contains("sparse-a.md") && err.contains("sparse-b.md"),
        "{err}"
    );
    assert!(err.contains("id:"), "{err}");
    assert_eq!(server.received().len(), 2);
}

#[test]
fn two_posts_with_one_id_stop_the_send_naming_both_files() {
    let site = Site::new(OUTBOX);
    site.subscribe(&["ada@example.org"]);
    for name in ["one", "two"] {
        site.post(
            &format!("2024-06-01-{name}.md"),
            &format!("---\ntitle: {name}\nid: same-id\n---\n\nText {name}.\n"),
        );
    }
    let err = stderr(&site.herald(&["send", "--all"]).failure());
    assert!(
        err.contains("2024-06-01-one.md")
            && err.contains("2024-06-01-two.md")
            && err.contains("same-id"),
        "{err}"
    );
    assert_eq!(outbox_files(&site), 0);
}

#[test]
fn forget_lets_a_mailing_be_sent_again_after_a_confirmation() {
    let site = Site::new(OUTBOX);
    site.subscribe(&["ada@example.org", "bob@example.org"]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    assert_eq!(outbox_files(&site), 2);
    // No terminal to ask on: nothing happens without --yes.
    let out = site.herald(&["forget", "faster-sparse-solvers"]).failure();
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));

    // One reader's copy, then the whole mailing, through SMTP this time.
    let server = SmtpServer::start(Mailbox::default(), None);
    let config = site.path().join("config/herald.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(OUTBOX, "transport = \"smtp\"\n") + &smtp_section(server.port),
    )
    .unwrap();
    site.herald(&[
        "forget",
        "faster-sparse-solvers",
        "bob@example.org",
        "--yes",
    ])
    .success()
    .stdout(predicates::str::contains("forgot 1 deliveries"));
    site.herald(&["send"]).success();
    let to: Vec<String> = server.received().iter().map(|r| r.to[0].clone()).collect();
    assert_eq!(to, ["bob@example.org"]);
    site.herald(&["forget", "faster-sparse-solvers", "--yes"])
        .success()
        .stdout(predicates::str::contains("forgot 2 deliveries"));
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 3);
    site.herald(&["send"]).success();
    assert_eq!(server.received().len(), 3);
}

#[test]
fn each_reader_gets_the_template_rendered_with_their_own_values() {
    let server = SmtpServer::start(Mailbox::default(), None);
    let site = Site::new(&smtp_section(server.port));
    std::fs::create_dir_all(site.path().join("templates")).unwrap();
    std::fs::write(
        site.path().join("templates/email.html"),
        "<html><head><style>.greet { color: #123456; }</style></head><body>\n\
         <p class=\"greet\">{% if subscriber.name %}Dear {{ subscriber.name }},{% else %}Hello,{% endif %}</p>\n\
         <p class=\"shout\">{{ subscriber.name | upper }}|{{ subscriber.email }}</p>\n\
         {{ post.content }}\n<a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></body></html>",
    )
    .unwrap();
    std::fs::write(
        site.path().join("templates/email.txt"),
        "{% if subscriber.name %}Dear {{ subscriber.name | title }},{% else %}Hello,{% endif %}\n\n{{ post.text }}\n",
    )
    .unwrap();
    let ledger = site.ledger();
    for (address, name) in [
        ("ada@example.org", Some("Ada")),
        ("bob@example.org", None),
        ("cy@example.org", Some("cy <&> co")),
        ("dee@example.org", Some("Dee")),
    ] {
        ledger.add_subscriber(address, name).unwrap();
    }
    drop(ledger);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let received = server.received();
    assert_eq!(received.len(), 4);
    for message in &received {
        let parsed = MessageParser::default().parse(&message.bytes).unwrap();
        let html = parsed.body_html(0).unwrap().into_owned();
        let text = parsed.body_text(0).unwrap().into_owned();
        assert!(
            !html.to_lowercase().contains("xherald") && !text.to_lowercase().contains("xherald"),
            "a marker reached a reader: {html}"
        );
        assert!(
            html.contains("<p class=\"greet\" style=\"color: #123456;\">"),
            "CSS inlined: {html}"
        );
        let (greeting, shout, text_greeting) = match message.to[0].as_str() {
            "ada@example.org" => ("Dear Ada,", "ADA|ada@example.org", "Dear Ada,"),
            "bob@example.org" => ("Hello,", "|bob@example.org", "Hello,"),
            "cy@example.org" => (
                "Dear cy &lt;&amp;&gt; co,",
                "CY &lt;&amp;&gt; CO|cy@example.org",
                "Dear Cy <&> Co,",
            ),
            "dee@example.org" => ("Dear Dee,", "DEE|dee@example.org", "Dear Dee,"),
            other => panic!("unexpected recipient {other}"),
        };
        assert!(html.contains(greeting), "{greeting} in {html}");
        assert!(html.contains(shout), "{shout} in {html}");
        assert!(text.starts_with(text_greeting), "{text_greeting} in {text}");
        assert!(html.contains("preconditioned conjugate"));
    }
}
