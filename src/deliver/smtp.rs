//! SMTP delivery through lettre's connection type, with rustls.
//!
//! Each sending thread keeps one [`SmtpCourier`]: one long-lived
//! connection, reconnected when it breaks, so `connections` threads are the
//! pool. We drive the transaction ourselves (MAIL, RCPT, DATA, message)
//! rather than through lettre's pooled transport because the stage a
//! failure happens at decides what is safe: a failure before the message
//! body is sent can be retried, but a connection lost while waiting for
//! the reply to the final "." may mean the server already accepted it
//! (RFC 1047), so that delivery is left "unknown" rather than risk a
//! duplicate. TLS policy: STARTTLS required (implicit TLS on request);
//! plain text only to a loopback host or when `tls = "none"` is written;
//! never a password over plain text to another host.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::{SmtpConfig, Tls};
use crate::deliver::{Attempt, Courier};
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
    tls_parameters: TlsParameters,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
}

impl std::fmt::Debug for Smtp {
    // Never shows the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "smtp://{}:{} ({:?})", self.host, self.port, self.tls)
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
        let mut builder = TlsParameters::builder(host.clone());
        if let Some(ca_file) = &config.ca_file {
            let path = site.path(ca_file);
            let pem = fs_err::read(&path)?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                Error::Usage(format!(
                    "smtp.ca_file {}: not a PEM certificate: {e}",
                    site.shown(&path).display()
                ))
            })?;
            builder = builder.add_root_certificate(certificate);
        }
        let tls_parameters = builder
            .build_rustls()
            .map_err(|e| Error::Message(format!("smtp: cannot set up TLS: {e}")))?;
        let credentials = match &config.username {
            Some(username) => Some(Credentials::new(username.clone(), password(config)?)),
            None => None,
        };
        Ok(Smtp {
            port: config.port(),
            tls: config.tls,
            loopback,
            tls_parameters,
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
    fn connect(&self) -> Result<SmtpConnection, Attempt> {
        let implicit = (self.tls == Tls::Tls).then_some(&self.tls_parameters);
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            implicit,
            None,
        )
        .map_err(|e| connect_failure(&self.host, self.port, &e))?;
        if self.tls == Tls::Starttls {
            if conn.can_starttls() {
                conn.starttls(&self.tls_parameters, &self.hello)
                    .map_err(|e| connect_failure(&self.host, self.port, &e))?;
            } else if !self.loopback {
                conn.abort();
                return Err(Attempt::Fatal(format!(
                    "{}:{} does not offer STARTTLS; refusing to send in plain text (write tls = \"none\" only for a relay you trust)",
                    self.host, self.port
                )));
            }
        }
        if let Some(credentials) = &self.credentials {
            if !conn.is_encrypted() && !self.loopback {
                conn.abort();
                return Err(Attempt::Fatal(
                    "refusing to log in over an unencrypted connection".into(),
                ));
            }
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .map_err(|e| {
                    Attempt::Fatal(format!("{}: login refused: {}", self.host, reply_text(&e)))
                })?;
        }
        Ok(conn)
    }
}

/// One thread's connection, opened on first use and again after a break.
pub struct SmtpCourier<'a> {
    smtp: &'a Smtp,
    conn: Option<SmtpConnection>,
}

impl<'a> SmtpCourier<'a> {
    pub fn new(smtp: &'a Smtp) -> Self {
        SmtpCourier { smtp, conn: None }
    }
}

impl Courier for SmtpCourier<'_> {
    fn deliver(&mut self, letter: &Letter) -> Attempt {
        let conn = match self.conn.take().filter(|c| !c.has_broken()) {
            Some(conn) => self.conn.insert(conn),
            None => match self.smtp.connect() {
                Ok(conn) => self.conn.insert(conn),
                Err(attempt) => return attempt,
            },
        };
        let attempt = transaction(conn, &letter.envelope, &letter.bytes);
        if (matches!(attempt, Attempt::Uncertain(_)) || conn.has_broken())
            && let Some(mut conn) = self.conn.take()
        {
            conn.abort();
        }
        attempt
    }

    fn finish(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }
}

/// One SMTP transaction, classified by the stage at which it failed.
fn transaction(conn: &mut SmtpConnection, envelope: &Envelope, bytes: &[u8]) -> Attempt {
    let mut parameters = Vec::new();
    let non_ascii = envelope
        .to()
        .iter()
        .chain(envelope.from())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Attempt::Rejected(
                "the address is not ASCII and the server does not support SMTPUTF8".into(),
            );
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() {
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    // Before the body is sent nothing can have been delivered: any failure may be retried.
    let before_body = conn
        .command(Mail::new(envelope.from().cloned(), parameters))
        .and_then(|_| {
            envelope
                .to()
                .iter()
                .try_for_each(|to| conn.command(Rcpt::new(to.clone(), vec![])).map(drop))
        })
        .and_then(|_| conn.command(Data));
    if let Err(e) = before_body {
        return refused(conn, &e, Attempt::Deferred);
    }
    // One write for body and terminator: lettre's `message` writes the final
    // "." separately, and that small second write waits out the server's
    // delayed ACK (Nagle), about 40 ms a message on every connection.
    let sent = match data_block(bytes) {
        Some(block) => conn.command(Raw(&block)),
        None => conn.message(bytes),
    };
    match sent {
        Ok(reply) => Attempt::Sent(reply.message().collect::<Vec<_>>().join(" ")),
        Err(e) if e.is_permanent() || e.is_transient() => refused(conn, &e, Attempt::Deferred),
        // Lost while the body or the final reply was in flight: the server may have it.
        Err(e) => Attempt::Uncertain(format!("connection lost after the message was sent: {e}")),
    }
}

/// Text written to the server as it is.
struct Raw<'a>(&'a str);

impl std::fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The DATA section of a message: lines starting with "." doubled (RFC 5321
/// 4.5.2), ended by CRLF "." CRLF. `None` when the bytes are not UTF-8
/// (lettre's own path handles those).
fn data_block(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    Some(out)
}

/// A failed command: 5xx rejects this message, 4xx defers it; anything else
/// (timeout, dropped connection) is `other`. The connection is reset for the
/// next message when it is still sound.
fn refused(
    conn: &mut SmtpConnection,
    e: &lettre::transport::smtp::Error,
    other: fn(String) -> Attempt,
) -> Attempt {
    let attempt = if e.is_permanent() {
        Attempt::Rejected(reply_text(e))
    } else if e.is_transient() {
        Attempt::Deferred(reply_text(e))
    } else {
        conn.abort();
        return other(e.to_string());
    };
    if conn.command(Rset).is_err() {
        conn.abort();
    }
    attempt
}

/// The server's reply as the user should read it: code and text.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    e.to_string()
}

fn connect_failure(host: &str, port: u16, e: &lettre::transport::smtp::Error) -> Attempt {
    let text = format!("cannot connect to {host}:{port}: {e}");
    // rustls reports an untrusted certificate as an I/O error, so the text is the only sign.
    if e.is_tls() || text.contains("certificate") {
        // A certificate the client does not trust will not change on retry.
        Attempt::Fatal(format!(
            "{text} (for a private or self-signed certificate, set smtp.ca_file to its PEM file)"
        ))
    } else if e.is_permanent() {
        Attempt::Fatal(text)
    } else {
        Attempt::Unreachable(text)
    }
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
        let block = data_block(b".hidden\r\nmiddle\r\n..two\r\nlast").unwrap();
        assert_eq!(block, "..hidden\r\nmiddle\r\n...two\r\nlast\r\n.\r\n");
        assert_eq!(data_block(b"a\r\n").unwrap(), "a\r\n.\r\n");
        assert!(data_block(&[0xff, 0xfe]).is_none());
    }
}
