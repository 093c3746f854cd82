//! DKIM: keys made by `herald dkim keygen`, messages signed by `herald send`
//! and received by a real SMTP server, signatures checked by mail-auth with
//! the public key from the printed DNS record (no DNS: the record is put
//! in the verifier's cache, and a verifier that wanted the network would
//! panic in `block_on`).

use super::dkim_verify::verify;
use super::server::SmtpServer;
use super::{Site, stderr, stdout};

/// What `herald dkim keygen` printed: the record's value and the config lines.
struct Keygen {
    record: String,
    config: String,
}

fn keygen(site: &Site, args: &[&str]) -> Keygen {
    let mut all = vec!["dkim", "keygen"];
    all.extend_from_slice(args);
    let text = stdout(&site.herald(&all).success());
    let record = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("value: "))
        .unwrap_or_else(|| panic!("no record in {text}"))
        .to_string();
    let config = text
        .split_once("[email.dkim]")
        .map(|(_, rest)| {
            let lines: Vec<&str> = rest
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            format!("\n[email.dkim]\n{}\n", lines.join("\n"))
        })
        .unwrap_or_else(|| panic!("no config in {text}"));
    Keygen { record, config }
}

/// Makes a key, signs with it, and returns the message the server got.
fn signed_message(server: &SmtpServer, algorithm: &str) -> (Vec<u8>, Keygen) {
    let site = Site::new(server.port);
    let made = keygen(&site, &["--algorithm", algorithm, "--selector", "s1"]);
    let key = site.path().join(".herald/dkim.pem");
    assert_private(&key);
    site.append_config(&made.config);
    site.subscribe(&[&format!("{algorithm}@example.org")]);
    site.herald(&["send", "--post", "faster-sparse-solvers"])
        .success();
    let received = server
        .received()
        .into_iter()
        .find(|r| r.to == [format!("{algorithm}@example.org")])
        .expect("the message arrived");
    (received.bytes, made)
}

#[cfg(unix)]
fn assert_private(key: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is readable by others");
}

#[cfg(not(unix))]
fn assert_private(_key: &std::path::Path) {}

/// `bytes` with `header`'s value changed (its first line), or its body.
fn altered(bytes: &[u8], header: Option<&str>) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let split = text.find("\r\n\r\n").unwrap();
    let (head, body) = text.split_at(split);
    match header {
        Some(name) => {
            let prefix = format!("\r\n{}:", name.to_ascii_lowercase());
            let at = format!("\r\n{head}")
                .to_ascii_lowercase()
                .find(&prefix)
                .unwrap_or_else(|| panic!("no {name} header"));
            // `at` is in "\r\n" + head: the header starts at `at` in head.
            let value_at = at + name.len() + 1;
            format!("{}X{}{body}", &head[..value_at], &head[value_at..]).into_bytes()
        }
        None => {
            let letter = body
                .char_indices()
                .skip(200)
                .find(|(_, c)| c.is_ascii_lowercase() && *c != 'z')
                .map(|(i, _)| i)
                .expect("a letter in the body");
            let mut body = body.to_string();
            let changed = (body.as_bytes()[letter] + 1) as char;
            body.replace_range(letter..letter + 1, &changed.to_string());
            format!("{head}{body}").into_bytes()
        }
    }
}

const SIGNED: [&str; 11] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

#[test]
fn rsa_and_ed25519_signatures_verify_and_fail_when_a_signed_header_or_the_body_changes() {
    let server = SmtpServer::start();
    for algorithm in ["rsa", "ed25519"] {
        let (bytes, made) = signed_message(&server, algorithm);
        assert!(
            made.record
                .starts_with(&format!("v=DKIM1; k={algorithm}; p=")),
            "{}",
            made.record
        );
        let name = "s1._domainkey.notes.test";
        let text = String::from_utf8_lossy(&bytes).to_string();
        let signature = text
            .split("\r\n")
            .find(|l| l.starts_with("DKIM-Signature:"))
            .expect("signed");
        assert!(
            signature.contains("d=notes.test") && signature.contains("s=s1"),
            "{signature}"
        );
        verify(&bytes, name, &made.record).unwrap_or_else(|e| panic!("{algorithm}: {e}\n{text}"));
        for header in SIGNED {
            let result = verify(&altered(&bytes, Some(header)), name, &made.record);
            assert!(
                result.is_err(),
                "{algorithm}: {header} changed and the signature still verified"
            );
        }
        let result = verify(&altered(&bytes, None), name, &made.record);
        assert!(
            result.is_err(),
            "{algorithm}: the body changed and the signature still verified"
        );
        // Another key's record does not verify it.
        let other = if algorithm == "rsa" { "ed25519" } else { "rsa" };
        let stranger = keygen(&Site::new(server.port), &["--algorithm", other]);
        assert!(verify(&bytes, name, &stranger.record).is_err());
    }
}

#[test]
fn keygen_never_overwrites_a_key_and_bad_keys_are_refused_with_the_reason() {
    let site = Site::new(1);
    let made = keygen(&site, &[]);
    assert!(made.record.starts_with("v=DKIM1; k=rsa; p="));
    let again = site.herald(&["dkim", "keygen"]).code(2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    site.append_config(&made.config);
    site.subscribe(&["ada@example.org"]);
    site.herald(&["send", "--dry-run", "--post", "hello"])
        .success();

    let key = site.path().join(".herald/dkim.pem");
    let refused = |fragment: &str| {
        let out = site
            .herald(&["send", "--dry-run", "--post", "hello"])
            .failure();
        let said = stderr(&out);
        assert!(
            said.contains("email.dkim.key_file") && said.contains(fragment),
            "{said}"
        );
        let check = stderr(&site.herald(&["check"]).failure());
        assert!(check.contains(fragment), "check: {check}");
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        refused("other users can read it");
    }
    let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
    let pem =
        rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&small, rsa::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(&key, pem.as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    refused("too small");
    std::fs::write(&key, "not a key").unwrap();
    refused("not a PEM private key");
    std::fs::remove_file(&key).unwrap();
    refused("herald dkim keygen");
}

#[test]
fn a_dkim_domain_that_does_not_align_with_from_is_refused_unless_allowed_and_check_warns() {
    let server = SmtpServer::start();
    let site = Site::new(server.port);
    keygen(&site, &["--domain", "mailer.test"]);
    site.append_config("\n[email.dkim]\ndomain = \"mailer.test\"\nselector = \"herald1\"\n");
    site.subscribe(&["ada@example.org"]);
    let out = site.herald(&["send", "--post", "hello"]).code(2);
    assert!(stderr(&out).contains("does not align"), "{}", stderr(&out));
    let check = site.herald(&["check"]).success();
    assert!(
        stderr(&check).contains("does not align"),
        "{}",
        stderr(&check)
    );
    assert!(server.received().is_empty());

    site.edit_dkim("allow_unaligned = true");
    let check = site.herald(&["check"]).success();
    assert!(
        stderr(&check).contains("DMARC will not count it"),
        "{}",
        stderr(&check)
    );
    site.herald(&["send", "--post", "hello"]).success();
    let text = String::from_utf8_lossy(&server.received()[0].bytes).to_string();
    assert!(text.contains("d=mailer.test"), "{text}");
}

impl Site {
    /// Adds a line to the [email.dkim] section (the config's last).
    fn edit_dkim(&self, line: &str) {
        self.append_config(&format!("{line}\n"));
    }
}
