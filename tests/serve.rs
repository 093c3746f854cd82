//! `herald serve` end to end: the real binary serving on 127.0.0.1 (port
//! 0, the port read from its first line of output), a real HTTP client
//! (reqwest) that resolves the site's public name to it, a real SMTP
//! server (mailin-embedded) receiving the confirmation mails and the
//! posts, read back with a MIME parser, and the real SQLite ledger shared
//! with `herald send`. Submodules: `signup` (the whole loop), `abuse`
//! (list bombing and forged links), `service` (start, stop, limits).

#[path = "support/dkim_verify.rs"]
mod dkim_verify;
#[path = "support/mailbox.rs"]
mod mailbox;
mod support;
#[path = "support/browser.rs"]
mod webdriver;

#[path = "serve/abuse.rs"]
mod abuse;
#[path = "serve/browser.rs"]
mod browser;
#[path = "serve/service.rs"]
mod service;
#[path = "serve/signup.rs"]
mod signup;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use herald::ledger::{Ledger, SubscriberStatus};
use herald::token::Keys;
use mail_parser::MessageParser;

pub use mailbox::SmtpServer;

/// Where the tests' site says the proxy exposes `herald serve`.
pub const PUBLIC_URL: &str = "http://news.test/newsletter";

/// A copy of tests/fixtures/serve-site with an SMTP server and `[serve]` settings.
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// The site mailing through `smtp`, with `serve` lines under `[serve]`.
    pub fn new(smtp: &SmtpServer, serve: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        support::copy_dir(Path::new("tests/fixtures/serve-site"), dir.path());
        let config = dir.path().join("config/herald.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "\n[serve]\npublic_url = \"{PUBLIC_URL}\"\n{serve}\n"
        ));
        text.push_str(&smtp.config());
        std::fs::write(&config, text).unwrap();
        Site { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn ledger_path(&self) -> PathBuf {
        self.path().join(".herald/herald.db")
    }

    /// The ledger, opened as another process would (while the server runs).
    pub fn ledger(&self) -> Ledger {
        Ledger::open(&self.ledger_path()).unwrap()
    }

    pub fn status(&self, email: &str) -> Option<SubscriberStatus> {
        self.ledger().subscriber(email).unwrap().map(|s| s.status)
    }

    /// The site's secret, as `herald serve` made it.
    pub fn keys(&self) -> Keys {
        Keys::load(&self.ledger_path()).unwrap()
    }

    pub fn post(&self, file: &str, title: &str) {
        let text =
            format!("---\ntitle: {title}\ndate: 2025-06-01 10:00:00\n---\n\nAbout {title}.\n");
        std::fs::write(self.path().join("posts").join(file), text).unwrap();
    }

    pub fn herald(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        support::herald(self.path(), args)
    }

    /// Rewrites config/herald.toml through `edit`.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let config = self.path().join("config/herald.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, edit(text)).unwrap();
    }

    /// `herald serve --listen 127.0.0.1:0`, running.
    pub fn serve(&self) -> Serve {
        Serve::start(self.path())
    }
}

/// A running `herald serve`; stopped with SIGTERM when dropped.
pub struct Serve {
    child: Child,
    pub address: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    fn start(site: &Path) -> Serve {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("herald"))
            .arg("-C")
            .arg(site)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("HERALD_SECRET")
            .env_remove("HERALD_PREVIOUS_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let address = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.wait();
                panic!("first line {first:?}; stderr: {}", stderr.lock().unwrap())
            })
            .parse()
            .unwrap();
        Serve {
            child,
            address,
            stderr,
        }
    }

    /// A client that takes `news.test` to this server, follows no redirect.
    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .resolve("news.test", self.address)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{PUBLIC_URL}{path}")
    }

    /// Sends SIGTERM and waits: the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// The `stamp` field of a page's signup form.
pub fn stamp_of(page: &str) -> String {
    let at = page
        .find("name=\"stamp\" value=\"")
        .expect("a stamp in the form")
        + 20;
    page[at..].split('"').next().unwrap().to_string()
}

/// A form stamp as if the form had been served `ago` seconds before.
pub fn stamp(site: &Site, ago: i64) -> String {
    site.keys()
        .form_stamp(chrono::Utc::now() - chrono::Duration::seconds(ago))
}

/// Posts the signup form as a person would, the form served long enough ago.
pub fn sign_up(
    serve: &Serve,
    client: &reqwest::blocking::Client,
    fields: &[(&str, &str)],
) -> reqwest::blocking::Response {
    client
        .post(serve.url("/subscribe"))
        .form(fields)
        .send()
        .unwrap()
}

/// A message's text body.
pub fn text_of(bytes: &[u8]) -> String {
    let message = MessageParser::default()
        .parse(bytes)
        .expect("a MIME message");
    message.body_text(0).expect("a text part").into_owned()
}

/// The confirmation link in a confirmation mail.
pub fn confirm_link(bytes: &[u8]) -> String {
    let text = text_of(bytes);
    let start = text
        .find(&format!("{PUBLIC_URL}/confirm?t="))
        .expect("a link");
    text[start..].split_whitespace().next().unwrap().to_string()
}
