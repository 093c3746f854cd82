//! SMTP delivery: the TLS policy, the pool of connections, and each
//! message's transaction classified by where it failed.
//!
//! Each sending thread keeps one [`SmtpCourier`]: one long-lived
//! connection, reconnected when it breaks, so `connections` threads are the
//! pool. The connection itself (deadlines, bounded replies, TLS) is
//! [`wire`](super::wire), which says why it is not lettre's.
//!
//! The stage a failure happens at decides what is safe: a failure before
//! the message body is sent can be retried, but a connection lost while
//! waiting for the reply to the final "." may mean the server already
//! accepted it (RFC 1047), so that delivery is left "unknown" rather than
//! risk a duplicate. The ledger is told as the transaction starts and
//! waited for just before the body goes (the [`Gate`]), so only a message
//! on the wire can ever be unknown. MAIL, RCPT and DATA go in one write
//! when the server offers PIPELINING (RFC 2920). A refused
//! connection or a name that does not resolve stops the run at once; a
//! server that is slow or says 4xx is retried.
//!
//! TLS policy: STARTTLS required (implicit TLS on request); plain text only
//! to a loopback host or when `tls = "none"` is written; never a password
//! over plain text to another host.

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::{SmtpConfig, Tls};
use crate::deliver::wire::{Failure, Peer, Wire, is_permanent, reply_text};
use crate::deliver::{Attempt, Courier, Gate};
use crate::email::Letter;
use crate::error::{Error, Result};
use crate::site::Site;

/// The environment variable holding the SMTP password.
pub const PASSWORD_ENV: &str = "HERALD_SMTP_PASSWORD";

/// Where and how to connect; shared by every sending thread.
pub struct Smtp {
    host: String,
    port: u16,
    tls: Tls,
    loopback: bool,
    tls_config: Arc<ClientConfig>,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
}

impl std::fmt::Debug for Smtp {
    // Never shows the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tls = match self.tls {
            // On loopback, a server without STARTTLS is spoken to in plain text.
            Tls::Starttls if self.loopback => "STARTTLS when offered",
            Tls::Starttls => "STARTTLS",
            Tls::Tls => "TLS",
            Tls::None => "plain text",
        };
        write!(f, "smtp://{}:{} ({tls})", self.host, self.port)
    }
}

impl Smtp {
    /// Reads `[smtp]`, the CA file and the password, and checks the TLS policy.
    pub fn new(site: &Site, config: &SmtpConfig) -> Result<Smtp> {
        let host = config.host.trim().to_string();
        let loopback = is_loopback(&host);
        if config.username.is_some() && config.tls == Tls::None && !loopback {
            return Err(Error::Usage(format!(
                "smtp: refusing to send a password unencrypted to {host}; use tls = \"starttls\" (port 587) or \"tls\" (port 465)"
            )));
        }
        let credentials = match &config.username {
            Some(username) => Some(Credentials::new(username.clone(), password(config)?)),
            None => None,
        };
        Ok(Smtp {
            port: config.port(),
            tls: config.tls,
            loopback,
            tls_config: tls_config(site, config)?,
            credentials,
            timeout: config.timeout,
            hello: ClientId::default(),
            host,
        })
    }

    pub fn describe(&self) -> String {
        format!("{self:?}")
    }

    /// Connects, secures and logs in: one ready connection.
    fn connect(&self) -> Result<Wire, Attempt> {
        let peer = Peer {
            host: &self.host,
            port: self.port,
            timeout: self.timeout,
        };
        let implicit = (self.tls == Tls::Tls).then_some(&self.tls_config);
        let mut wire = Wire::connect(&peer, implicit).map_err(|f| self.connect_failure(f))?;
        wire.hello(&self.hello)
            .map_err(|f| self.connect_failure(f))?;
        if self.tls == Tls::Starttls {
            if wire.offers(Extension::StartTls) {
                wire.starttls(&self.host, &self.tls_config, &self.hello)
                    .map_err(|f| self.connect_failure(f))?;
            } else if !self.loopback {
                wire.close();
                return Err(Attempt::Fatal(format!(
                    "{}:{} does not offer STARTTLS; refusing to send in plain text (write tls = \"none\" only for a relay you trust)",
                    self.host, self.port
                )));
            }
        }
        if let Some(credentials) = &self.credentials {
            if !wire.is_encrypted() && !self.loopback {
                wire.close();
                return Err(Attempt::Fatal(
                    "refusing to log in over an unencrypted connection".into(),
                ));
            }
            wire.login(credentials).map_err(|f| {
                Attempt::Fatal(format!("{}: login refused: {}", self.host, f.text()))
            })?;
        }
        Ok(wire)
    }

    fn connect_failure(&self, failure: Failure) -> Attempt {
        match failure {
            // 421 "try later" at the greeting, say: retry.
            Failure::Reply(reply) if !is_permanent(&reply) => Attempt::Unreachable(format!(
                "{}:{} refused the connection for now: {}",
                self.host,
                self.port,
                Failure::Reply(reply).text()
            )),
            Failure::Reply(reply) => Attempt::Fatal(format!(
                "{}:{} refused the connection: {}",
                self.host,
                self.port,
                Failure::Reply(reply).text()
            )),
            Failure::Lost(text) => Attempt::Unreachable(text),
            Failure::Unreachable(text) => Attempt::Fatal(text),
            // A certificate the client does not trust will not change on retry.
            Failure::Fatal(text) if text.contains("certificate") => Attempt::Fatal(format!(
                "{text} (for a private or self-signed certificate, set smtp.ca_file to its PEM file)"
            )),
            Failure::Fatal(text) => Attempt::Fatal(text),
        }
    }
}

/// rustls with the ring provider, trusting the web's roots and `ca_file`.
fn tls_config(site: &Site, config: &SmtpConfig) -> Result<Arc<ClientConfig>> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca_file) = &config.ca_file {
        let path = site.path(ca_file);
        let pem = fs_err::read(&path)?;
        let bad = |e: String| {
            Error::Usage(format!(
                "smtp.ca_file {}: not a PEM certificate: {e}",
                site.shown(&path).display()
            ))
        };
        let mut found = 0;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate.map_err(|e| bad(e.to_string()))?;
            roots.add(certificate).map_err(|e| bad(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(bad("no CERTIFICATE block in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Message(format!("smtp: cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// One thread's connection, opened on first use and again after a break.
pub struct SmtpCourier<'a> {
    smtp: &'a Smtp,
    wire: Option<Wire>,
}

impl<'a> SmtpCourier<'a> {
    pub fn new(smtp: &'a Smtp) -> Self {
        SmtpCourier { smtp, wire: None }
    }
}

impl Courier for SmtpCourier<'_> {
    fn deliver(&mut self, letter: &Letter, gate: &mut dyn Gate) -> Attempt {
        let wire = match self.wire.take().filter(|w| !w.is_broken()) {
            Some(wire) => self.wire.insert(wire),
            None => match self.smtp.connect() {
                Ok(wire) => self.wire.insert(wire),
                Err(attempt) => return attempt,
            },
        };
        let attempt = transaction(wire, letter, gate);
        if wire.is_broken()
            && let Some(mut wire) = self.wire.take()
        {
            wire.close();
        }
        attempt
    }

    fn finish(&mut self) {
        if let Some(wire) = self.wire.take() {
            wire.quit();
        }
    }
}

/// One SMTP transaction, classified by the stage at which it failed.
fn transaction(wire: &mut Wire, letter: &Letter, gate: &mut dyn Gate) -> Attempt {
    let envelope = &letter.envelope;
    let parameters = match mail_parameters(wire, envelope, &letter.bytes) {
        Ok(parameters) => parameters,
        Err(attempt) => return attempt,
    };
    let mut commands = vec![(
        Mail::new(envelope.from().cloned(), parameters).to_string(),
        "answer MAIL FROM",
    )];
    for to in envelope.to() {
        commands.push((Rcpt::new(to.clone(), vec![]).to_string(), "answer RCPT TO"));
    }
    commands.push((Data.to_string(), "answer DATA"));
    // The ledger records the delivery as pending while the commands' round
    // trips run. Before the body is sent nothing can have been delivered:
    // any failure may be retried.
    gate.announce();
    if let Err(failure) = wire.commands(&commands) {
        return refused(wire, failure);
    }
    if !gate.wait() {
        // The ledger could not record it, or the run is stopping: the body never goes.
        wire.close();
        return Attempt::NotAttempted;
    }
    // One write for body and terminator: a small second write would wait
    // out the server's delayed ACK (Nagle), about 40 ms a message.
    wire.start();
    if let Err(failure) = wire.send_bytes(&data_block(&letter.bytes), "take the message") {
        // The terminating "." never left: the server cannot have accepted it.
        return refused(wire, failure);
    }
    match wire.reply("accept the message") {
        Ok(reply) if reply.is_positive() => Attempt::Sent(reply_text(&reply)),
        Ok(reply) => refused(wire, Failure::Reply(reply)),
        // Lost while the final reply was in flight: the server may have it.
        Err(failure) => Attempt::Uncertain(format!(
            "no reply after the message was sent: {}",
            failure.text()
        )),
    }
}

/// SMTPUTF8 for a non-ASCII address (refused when the server lacks it), 8BITMIME for a non-ASCII body.
fn mail_parameters(
    wire: &Wire,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<Vec<MailParameter>, Attempt> {
    let mut parameters = Vec::new();
    let non_ascii = envelope
        .to()
        .iter()
        .chain(envelope.from())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !wire.offers(Extension::SmtpUtfEight) {
            return Err(Attempt::Rejected(
                "the address is not ASCII and the server does not support SMTPUTF8".into(),
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() {
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    Ok(parameters)
}

/// The DATA section of a message: lines starting with "." doubled (RFC 5321
/// 4.5.2), ended by CRLF "." CRLF.
fn data_block(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    if bytes.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut copied = 0;
    for newline in memchr::memmem::find_iter(bytes, b"\n.") {
        out.extend_from_slice(&bytes[copied..=newline]);
        out.push(b'.');
        copied = newline + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A failed command: 5xx rejects this message, 4xx defers it, a lost
/// connection defers it (another connection tries). A still-sound
/// connection is reset for the next message.
fn refused(wire: &mut Wire, failure: Failure) -> Attempt {
    let attempt = match &failure {
        Failure::Reply(reply) if is_permanent(reply) => Attempt::Rejected(failure.text()),
        Failure::Reply(_) | Failure::Lost(_) | Failure::Unreachable(_) => {
            Attempt::Deferred(failure.text())
        }
        Failure::Fatal(text) => Attempt::Fatal(text.clone()),
    };
    if !wire.is_broken() && wire.command(Rset, "answer RSET").is_err() {
        wire.close();
    }
    attempt
}

/// `$HERALD_SMTP_PASSWORD`, else the output of `password_command`.
fn password(config: &SmtpConfig) -> Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    let Some(command) = &config.password_command else {
        return Err(Error::Usage(format!(
            "smtp.username is set but there is no password: set ${PASSWORD_ENV} or smtp.password_command (the password is never read from the config file)"
        )));
    };
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Message(format!("smtp.password_command could not run: {e}")))?;
    if !output.status.success() {
        // Its standard output may hold a secret: only the status is shown.
        return Err(Error::Message(format!(
            "smtp.password_command failed ({})",
            output.status
        )));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| Error::Message("smtp.password_command printed something not UTF-8".into()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// `localhost` or a loopback IP: the only hosts plain text may go to by default.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("smtp.example.org"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn the_data_block_doubles_leading_dots_and_ends_with_a_lone_dot() {
        let block = data_block(b".hidden\r\nmiddle\r\n..two\r\nlast");
        assert_eq!(block, b"..hidden\r\nmiddle\r\n...two\r\nlast\r\n.\r\n");
        assert_eq!(data_block(b"a\r\n"), b"a\r\n.\r\n");
        assert_eq!(
            data_block(&[0xff, b'\n', b'.']),
            [0xff, b'\n', b'.', b'.', b'\r', b'\n', b'.', b'\r', b'\n']
        );
    }
}
