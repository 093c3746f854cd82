//! DKIM (RFC 6376): the key in `[email.dkim]`, read and checked once per
//! run, the signer every message goes through, and `herald dkim keygen`.
//!
//! The signing itself is lettre's (`dkim` feature). This module is what
//! lettre leaves out: reading the key as people have it (PKCS#1 or PKCS#8
//! PEM, as `openssl` and `herald dkim keygen` write it; lettre takes PKCS#1
//! for RSA and a bare base64 seed for Ed25519), refusing a key that is
//! readable by others, too small or for a domain that does not align with
//! From (DMARC would not count it), and the DNS record to publish.
//!
//! lettre's `dkim` pulls in the `rsa` crate, whose advisory
//! (RUSTSEC-2023-0071, "Marvin") is a timing side channel: an attacker who
//! can time many private-key operations from the network. herald signs on
//! the author's machine and answers nobody, so it does not apply here; it is
//! why DKIM is off unless `[email.dkim]` is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig as LettreDkim, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;

use crate::config::DkimConfig;
use crate::error::{Error, Result};

/// The smallest RSA key accepted (RFC 8301: verifiers may refuse smaller).
pub const MIN_RSA_BITS: usize = 2048;

/// The headers signed, when present. One that is absent is signed as empty,
/// so it cannot be added in transit either (List-Unsubscribe-Post without
/// an https link, say). The MIME headers bind the body's structure (see
/// `email::message::signable` for how Content-Type gets signed at all);
/// List-Unsubscribe and List-Unsubscribe-Post are signed as RFC 8058 asks
/// for one-click unsubscribe.
pub const SIGNED_HEADERS: [&str; 11] = [
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rsa,
    Ed25519,
}

impl Algorithm {
    /// The `k=` tag of the DNS record.
    fn dns_name(self) -> &'static str {
        match self {
            Algorithm::Rsa => "rsa",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// A private key, as lettre takes it, and its public half as DNS publishes it.
pub struct Key {
    pub algorithm: Algorithm,
    /// RSA: PKCS#1 PEM; Ed25519: the base64 seed. Never shown (see `Debug`).
    private: String,
    /// The `p=` bytes: SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519.
    public: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?}, private part not shown)", self.algorithm)
    }
}

impl Key {
    /// The DNS TXT record's value: `v=DKIM1; k=rsa; p=...`.
    pub fn dns_value(&self) -> String {
        format!(
            "v=DKIM1; k={}; p={}",
            self.algorithm.dns_name(),
            BASE64.encode(&self.public)
        )
    }

    /// A zone-file line for `selector._domainkey.domain`, the value split
    /// into strings of at most 255 characters as DNS requires (a 2048-bit
    /// RSA key does not fit in one).
    pub fn zone_line(&self, selector: &str, domain: &str) -> String {
        let value = self.dns_value();
        let chunks: Vec<String> = value
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!(
            "{selector}._domainkey.{domain}. IN TXT ( {} )",
            chunks.join(" ")
        )
    }
}

/// What signs every message of a run.
#[derive(Clone)]
pub struct Signer {
    config: Arc<LettreDkim>,
    pub domain: String,
    pub selector: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(d={}, s={})", self.domain, self.selector)
    }
}

impl Signer {
    /// Reads and checks the key (`key_file` resolved by the caller; `shown`
    /// names it in messages) and refuses a domain that does not align with
    /// `from_domain` unless `allow_unaligned`.
    pub fn new(
        config: &DkimConfig,
        key_file: &Path,
        shown: &Path,
        from_domain: &str,
    ) -> Result<Signer> {
        let domain = config
            .domain
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let selector = config.selector.trim().to_string();
        if domain.is_empty() || selector.is_empty() {
            return Err(Error::Usage(
                "email.dkim: domain and selector must not be empty".into(),
            ));
        }
        if !aligned(&domain, from_domain) && !config.allow_unaligned {
            return Err(Error::Usage(unaligned_message(&domain, from_domain)));
        }
        let key = load(key_file, shown)?;
        let algorithm = match key.algorithm {
            Algorithm::Rsa => DkimSigningAlgorithm::Rsa,
            Algorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
        };
        let signing_key = DkimSigningKey::new(&key.private, algorithm)
            .map_err(|e| Error::Usage(format!("email.dkim.key_file {}: {e}", shown.display())))?;
        let headers = SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect();
        // Relaxed both ways: relays that re-fold a header or trim trailing
        // spaces do not break the signature. (lettre's "simple" header
        // canonicalization also fails an independent verifier.)
        let canonicalization = DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        };
        let config = LettreDkim::new(
            selector.clone(),
            domain.clone(),
            signing_key,
            headers,
            canonicalization,
        );
        Ok(Signer {
            config: Arc::new(config),
            domain,
            selector,
        })
    }

    /// Adds the DKIM-Signature header; the message must not change after.
    pub fn sign(&self, message: &mut lettre::Message) {
        message.sign(&self.config);
    }
}

/// Whether a signature by `dkim_domain` counts for DMARC on mail from
/// `from_domain` under relaxed alignment: the same domain, or one a
/// subdomain of the other. (DMARC's own test compares organisational
/// domains through the public suffix list, which also aligns two sibling
/// subdomains; this stricter test never calls aligned what is not.)
pub fn aligned(dkim_domain: &str, from_domain: &str) -> bool {
    let d = dkim_domain.trim_end_matches('.').to_ascii_lowercase();
    let f = from_domain.trim_end_matches('.').to_ascii_lowercase();
    d == f || f.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{f}"))
}

pub fn unaligned_message(dkim_domain: &str, from_domain: &str) -> String {
    format!(
        "email.dkim.domain {dkim_domain} does not align with the From address's domain {from_domain}: \
         DMARC (and Gmail and Yahoo) would not count the signature. Sign as {from_domain} (or a domain \
         it is a subdomain of), or write allow_unaligned = true under [email.dkim] to sign anyway"
    )
}

/// Reads a private key file, refusing one others can read, one not PEM,
/// and an RSA key under [`MIN_RSA_BITS`].
pub fn load(path: &Path, shown: &Path) -> Result<Key> {
    let named =
        |what: String| Error::Usage(format!("email.dkim.key_file {}: {what}", shown.display()));
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => named(
            "no such file; `herald dkim keygen` makes one (and prints the DNS record to publish)"
                .into(),
        ),
        _ => named(format!("cannot be read: {e}")),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(named(format!(
                "other users can read it (mode {mode:04o}); a DKIM key lets anyone sign as your domain: chmod 600 {}",
                shown.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| named(format!("cannot be read: {e}")))?;
    parse(&text).map_err(named)
}

/// A key from PEM text: PKCS#1 RSA, or PKCS#8 RSA or Ed25519.
fn parse(text: &str) -> std::result::Result<Key, String> {
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(text)
            .map_err(|e| format!("not a readable RSA private key: {e}"))?;
        return rsa_key(key);
    }
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(text) {
            return Ok(ed25519_key(&key));
        }
        return match rsa::RsaPrivateKey::from_pkcs8_pem(text) {
            Ok(key) => rsa_key(key),
            Err(e) => Err(format!(
                "a PKCS#8 key that is neither RSA nor Ed25519 (or is damaged): {e}"
            )),
        };
    }
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err("the key is encrypted with a passphrase; herald needs it unencrypted (`openssl pkey -in KEY -out KEY.pem`, then chmod 600)".into());
    }
    if text.contains("OPENSSH PRIVATE KEY") {
        return Err("an OpenSSH key; DKIM needs a PEM key (`herald dkim keygen` makes one)".into());
    }
    Err("not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)".into())
}

fn rsa_key(key: rsa::RsaPrivateKey) -> std::result::Result<Key, String> {
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "a {bits}-bit RSA key is too small: DKIM verifiers refuse keys under {MIN_RSA_BITS} bits (RFC 8301); `herald dkim keygen` makes a 2048-bit one"
        ));
    }
    let private = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| format!("cannot re-encode the RSA key: {e}"))?;
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    Ok(Key {
        algorithm: Algorithm::Rsa,
        private: private.to_string(),
        public: public.as_bytes().to_vec(),
    })
}

fn ed25519_key(key: &ed25519_dalek::SigningKey) -> Key {
    Key {
        algorithm: Algorithm::Ed25519,
        private: BASE64.encode(key.to_bytes()),
        public: key.verifying_key().to_bytes().to_vec(),
    }
}

/// What `herald dkim keygen` wrote, and what to do with it.
#[derive(Debug)]
pub struct Generated {
    pub key: Key,
    pub path: PathBuf,
    /// The path as the user should read it (relative to the site root).
    pub shown: PathBuf,
    pub selector: String,
    pub domain: String,
    /// `[email.dkim]` already names this key.
    pub configured: bool,
}

impl std::fmt::Display for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.key.algorithm {
            Algorithm::Rsa => "RSA 2048",
            Algorithm::Ed25519 => "Ed25519",
        };
        let name = format!("{}._domainkey.{}", self.selector, self.domain);
        writeln!(
            f,
            "wrote {} ({what}, readable by you only; keep it out of git)\n",
            self.shown.display()
        )?;
        writeln!(f, "Publish this DNS TXT record at your DNS host:")?;
        writeln!(f, "  name:  {name}")?;
        writeln!(f, "  value: {}", self.key.dns_value())?;
        writeln!(f, "As a zone-file line:")?;
        writeln!(f, "  {}", self.key.zone_line(&self.selector, &self.domain))?;
        writeln!(
            f,
            "\nOnce `dig +short TXT {name}` shows it, sign with it (config/herald.toml):"
        )?;
        if self.configured {
            return write!(f, "  [email.dkim] already names this key");
        }
        write!(
            f,
            "  [email.dkim]\n  domain = \"{}\"\n  selector = \"{}\"\n  key_file = \"{}\"",
            self.domain,
            self.selector,
            self.shown.display()
        )
    }
}

/// `herald dkim keygen`'s choices, filled in from `[email.dkim]` and From.
#[derive(Debug, Clone)]
pub struct KeygenOptions {
    pub algorithm: Algorithm,
    pub selector: Option<String>,
    pub domain: Option<String>,
    /// Relative to the site root.
    pub out: Option<PathBuf>,
}

/// Makes a key for `site_root`'s configuration: the selector, domain and
/// file given, else those `[email.dkim]` names, else `herald1`, the From
/// domain and `.herald/dkim.pem` (`.herald/dkim-SELECTOR.pem` for a new
/// selector beside a configured one: a rotation keeps the old key until
/// the new record is published).
pub fn keygen_for_site(
    site_root: &Path,
    config: &crate::config::Config,
    options: &KeygenOptions,
) -> Result<Generated> {
    let configured = config.email.dkim.as_ref();
    let selector = options
        .selector
        .clone()
        .or_else(|| configured.map(|c| c.selector.clone()))
        .unwrap_or_else(|| "herald1".into());
    let selector = selector.trim().to_string();
    if selector.is_empty()
        || !selector
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(Error::Usage(format!(
            "--selector {selector:?}: a selector is letters, digits, '-' and '.' (it becomes part of a DNS name)"
        )));
    }
    let domain = match options
        .domain
        .clone()
        .or_else(|| configured.map(|c| c.domain.clone()))
    {
        Some(domain) => domain,
        None => crate::email::message::from_mailbox(config)?
            .email
            .domain()
            .to_string(),
    };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let same_selector = configured.is_some_and(|c| c.selector.trim() == selector);
    let shown = match &options.out {
        Some(out) => out.clone(),
        None if configured.is_none() || same_selector => configured
            .map(|c| c.key_file.clone())
            .unwrap_or_else(|| PathBuf::from(".herald/dkim.pem")),
        None => PathBuf::from(format!(".herald/dkim-{selector}.pem")),
    };
    let is_configured = same_selector
        && configured
            .is_some_and(|c| c.key_file == shown && c.domain.trim().eq_ignore_ascii_case(&domain));
    let path = site_root.join(&shown);
    let key = keygen(options.algorithm, &path, &shown)?;
    Ok(Generated {
        key,
        path,
        shown,
        selector,
        domain,
        configured: is_configured,
    })
}

/// Makes a new key and writes it to `path` as PEM, 0600; never over an
/// existing file (a published DNS record may depend on it).
pub fn keygen(algorithm: Algorithm, path: &Path, shown: &Path) -> Result<Key> {
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; herald never overwrites a key (its DNS record may be published). \
             Give another --out, or a new --selector for a new key",
            shown.display()
        )));
    }
    let (pem, key) = match algorithm {
        Algorithm::Rsa => {
            let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, MIN_RSA_BITS)
                .map_err(|e| Error::Message(format!("cannot make an RSA key: {e}")))?;
            let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&private, LineEnding::LF)
                .map_err(|e| Error::Message(format!("cannot encode the RSA key: {e}")))?
                .to_string();
            (pem, rsa_key(private).map_err(Error::Message)?)
        }
        Algorithm::Ed25519 => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| Error::Message(format!("no randomness for a key: {e}")))?;
            let private = ed25519_dalek::SigningKey::from_bytes(&seed);
            let pem = private
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| Error::Message(format!("cannot encode the Ed25519 key: {e}")))?
                .to_string();
            (pem, ed25519_key(&private))
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private::create_ignored_dir(dir)?;
    }
    use std::io::Write;
    let mut file = crate::private::options()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_the_same_domain_or_a_parent_or_child() {
        assert!(aligned("example.org", "example.org"));
        assert!(aligned("Example.ORG.", "example.org"));
        assert!(aligned("example.org", "news.example.org"));
        assert!(aligned("mail.example.org", "example.org"));
        assert!(!aligned("example.org", "example.com"));
        assert!(!aligned("ample.org", "example.org"));
        assert!(!aligned("mailer.net", "example.org"));
    }

    #[test]
    fn a_small_rsa_key_is_refused_and_says_why() {
        let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = small.to_pkcs1_pem(LineEnding::LF).unwrap();
        let error = parse(&pem).unwrap_err();
        assert!(
            error.contains("1024-bit") && error.contains("2048"),
            "{error}"
        );
    }

    #[test]
    fn keys_that_are_not_pem_private_keys_are_named_as_such() {
        assert!(
            parse("hello")
                .unwrap_err()
                .contains("not a PEM private key")
        );
        let openssh =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(parse(openssh).unwrap_err().contains("OpenSSH"));
        let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(parse(broken).unwrap_err().contains("PKCS#8"));
    }

    #[test]
    fn an_ed25519_key_round_trips_through_pkcs8_pem() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let read = parse(&pem).unwrap();
        assert_eq!(read.algorithm, Algorithm::Ed25519);
        assert_eq!(read.public, key.verifying_key().to_bytes());
        assert!(read.dns_value().starts_with("v=DKIM1; k=ed25519; p="));
    }

    #[test]
    fn a_long_record_is_split_into_dns_strings_of_at_most_255() {
        let key = Key {
            algorithm: Algorithm::Rsa,
            private: String::new(),
            public: vec![1; 300],
        };
        let line = key.zone_line("s1", "example.org");
        assert!(line.starts_with("s1._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p="));
        let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        assert_eq!(strings.len(), 2);
        assert!(strings.iter().all(|s| s.len() <= 255));
        assert_eq!(strings.concat(), key.dns_value());
    }
}
