//! Mail that arrives: DKIM signatures made by the real binary, sent through
//! a real SMTP server and checked by an independent verifier (mail-auth,
//! the public key given directly, no DNS); refusals at send time; bounce
//! reports read from a Maildir or mbox (fixtures in the shapes Postfix,
//! Exim, qmail, Gmail, Outlook/Exchange and Amazon SES send), and the list
//! and the ledger afterwards.

#[path = "support/dkim_verify.rs"]
mod dkim_verify;
#[path = "support/mailbox.rs"]
mod server;
mod support;

#[path = "deliverability/bounces.rs"]
mod bounces;
#[path = "deliverability/dkim.rs"]
mod dkim;
#[path = "deliverability/refusals.rs"]
mod refusals;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use herald::ledger::{Ledger, SubscriberStatus};

use support::copy_dir;

/// A copy of tests/fixtures/email-site (a `.test` domain, two posts) in a
/// temporary folder, sending to a local server.
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    pub fn new(smtp_port: u16) -> Site {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(Path::new("tests/fixtures/email-site"), dir.path());
        let site = Site { dir };
        site.append_config(&format!(
            "\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nconnections = 2\nrate = \"1000/s\"\ntimeout = \"5s\"\nretries = 1\nbackoff = \"10ms\"\n"
        ));
        site
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds lines under `[email]`, which the fixture's config ends with
    /// (before the appended [smtp]).
    pub fn email_config(&self, lines: &str) {
        self.edit_config(|text| text.replacen("\n[smtp]\n", &format!("\n{lines}\n[smtp]\n"), 1));
    }

    pub fn append_config(&self, text: &str) {
        self.edit_config(|config| format!("{config}{text}"));
    }

    fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let config = self.path().join("config/herald.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, edit(text)).unwrap();
    }

    pub fn ledger(&self) -> Ledger {
        let path = self.path().join(".herald/herald.db");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Ledger::open(&path).unwrap()
    }

    pub fn subscribe(&self, addresses: &[&str]) {
        let ledger = self.ledger();
        for address in addresses {
            ledger.add_subscriber(address, None).unwrap();
        }
    }

    pub fn status_of(&self, address: &str) -> SubscriberStatus {
        self.ledger().subscriber(address).unwrap().unwrap().status
    }

    /// Writes a new post (new to the list: the next `send` mails it).
    pub fn post(&self, slug: &str, day: u32) {
        let text = format!(
            "---\ntitle: Post {slug}\ndate: 2024-05-{day:02} 10:00:00\n---\nText of {slug}.\n"
        );
        std::fs::write(
            self.path()
                .join(format!("posts/2024-05-{day:02}-{slug}.md")),
            text,
        )
        .unwrap();
    }

    /// A Maildir under the site, with `messages` (name, bytes) in new/.
    pub fn maildir(&self, name: &str, messages: &[(String, Vec<u8>)]) -> PathBuf {
        let root = self.path().join(name);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for (file, bytes) in messages {
            std::fs::write(root.join("new").join(file), bytes).unwrap();
        }
        root
    }

    pub fn herald(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("herald")
            .unwrap()
            .arg("-C")
            .arg(self.path())
            .args(args)
            .env_remove("HERALD_SMTP_PASSWORD")
            .assert()
    }
}

pub fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}
