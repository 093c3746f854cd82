//! One SMTP client connection with a deadline on every command and a bound
//! on every reply: what `smtp` talks through.
//!
//! Why not lettre's `SmtpConnection`: its timeout is set on the socket, so
//! it bounds each read, not a command; a server that answers one byte a
//! second keeps it waiting forever. It reads a reply line into a `String`
//! with no limit, so a banner that never ends its line grows memory until
//! the machine gives out. And a read timeout reaches the user as the OS's
//! "Resource temporarily unavailable (os error 11)". None of that can be
//! fixed from outside, because it builds and owns its socket. So this
//! module owns the socket and drives the protocol, and uses lettre's pieces
//! for the rest: the command types (their wire text), `Response` parsing,
//! `ServerInfo` (EHLO keywords) and the AUTH mechanisms. TLS is rustls (the
//! same crate and the same ring provider lettre would use).
//!
//! Every read and write goes through [`Timed`], which knows the deadline of
//! the command in progress and sets the socket's timeout to what is left of
//! it whenever the one set could outlast the deadline (by more than a
//! sixteenth of itself); so `timeout` bounds a whole command (the write, the
//! wait, a reply dripped a byte at a time, a TLS handshake) and a stall is
//! said in words: "the server did not greet within 30s". A reply is
//! refused past [`MAX_REPLY`] bytes.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::{Auth, Ehlo, Quit, Starttls};
use lettre::transport::smtp::extension::{ClientId, Extension, ServerInfo};
use lettre::transport::smtp::response::{Response, Severity};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// The most bytes one reply may take, all its lines together. RFC 5321
/// allows 512 per line; an EHLO reply lists a few dozen lines at most.
pub const MAX_REPLY: usize = 64 * 1024;

/// Why a command did not get a positive reply.
#[derive(Debug)]
pub enum Failure {
    /// The server answered 4xx or 5xx.
    Reply(Response),
    /// The connection is gone or unusable: timed out, closed, a reply too
    /// long or garbled. Another connection may do better.
    Lost(String),
    /// No connection at all, and trying again at once will not change it:
    /// connection refused, a name that does not resolve, no route.
    Unreachable(String),
    /// No retry fixes it: TLS (handshake, certificate), no usable login.
    Fatal(String),
}

impl Failure {
    /// The user's words for it.
    pub fn text(&self) -> String {
        match self {
            Failure::Reply(reply) => reply_text(reply),
            Failure::Lost(text) | Failure::Unreachable(text) | Failure::Fatal(text) => text.clone(),
        }
    }
}

/// A reply as the user should read it: code and text.
pub fn reply_text(reply: &Response) -> String {
    let text = reply.message().collect::<Vec<_>>().join(" ");
    format!("{} {text}", reply.code())
}

/// A 5xx: this message (or this connection) will not be taken, however often asked.
pub fn is_permanent(reply: &Response) -> bool {
    reply.code().severity == Severity::PermanentNegativeCompletion
}

/// A TCP socket that keeps the current command's deadline.
pub struct Timed {
    tcp: TcpStream,
    deadline: Instant,
    /// The timeouts now set on the socket, by [`Way`], so most calls set
    /// none (four `setsockopt` a message were a tenth of `send`'s system
    /// time into a local relay).
    set: [Option<Duration>; 2],
}

/// Which of the socket's two timeouts a call waits under.
#[derive(Debug, Clone, Copy)]
enum Way {
    Read = 0,
    Write = 1,
}

impl Timed {
    fn new(tcp: TcpStream, deadline: Instant) -> Timed {
        Timed {
            tcp,
            deadline,
            set: [None; 2],
        }
    }

    /// Makes `call` on the socket, waiting no longer than the deadline.
    fn within(
        &mut self,
        way: Way,
        mut call: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        loop {
            let left = self.left()?;
            if let Some(timeout) = arm(&mut self.set[way as usize], left) {
                match way {
                    Way::Read => self.tcp.set_read_timeout(Some(timeout))?,
                    Way::Write => self.tcp.set_write_timeout(Some(timeout))?,
                }
            }
            let result = call(&mut self.tcp);
            if !again(&result, &mut self.set[way as usize], self.deadline) {
                return result.map_err(stalled);
            }
        }
    }

    /// What is left before the deadline; a timed-out error once it has passed.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left)
    }
}

/// The timeout to set on the socket before a call, if the one set will not
/// do: a call may wait past the deadline by at most a sixteenth of the
/// timeout set. One that ends before the deadline is kept: the call then
/// times out early and is made again (see [`again`]).
fn arm(set: &mut Option<Duration>, left: Duration) -> Option<Duration> {
    match *set {
        Some(current) if current <= left + current / 16 => None,
        _ => {
            *set = Some(left);
            Some(left)
        }
    }
}

/// Whether a call that timed out is to be made again: its socket timeout
/// ended before the command's deadline. Forgets the timeout set, so the
/// next call sets what is left.
fn again(result: &io::Result<usize>, set: &mut Option<Duration>, deadline: Instant) -> bool {
    let timed_out = matches!(result, Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut));
    if timed_out {
        *set = None;
    }
    timed_out && Instant::now() < deadline
}

/// A socket timeout comes back as WouldBlock on Linux ("os error 11"); both
/// mean the deadline passed.
fn stalled(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
        _ => e,
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.within(Way::Read, |tcp| tcp.read(buf))
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.within(Way::Write, |tcp| tcp.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

enum Stream {
    Plain(Timed),
    Tls(Box<StreamOwned<ClientConnection, Timed>>),
}

impl Stream {
    fn timed(&mut self) -> &mut Timed {
        match self {
            Stream::Plain(timed) => timed,
            Stream::Tls(tls) => &mut tls.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Where to connect, and how long each step may take.
pub struct Peer<'a> {
    pub host: &'a str,
    pub port: u16,
    pub timeout: Duration,
}

impl Peer<'_> {
    fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One open SMTP connection.
pub struct Wire {
    stream: Stream,
    /// Bytes read past the end of the last reply.
    buffer: Vec<u8>,
    timeout: Duration,
    peer: String,
    server: ServerInfo,
    /// The server offers PIPELINING (RFC 2920); lettre's `ServerInfo` does not know it.
    pipelining: bool,
    broken: bool,
}

impl Wire {
    /// Connects and reads the greeting; with `tls`, TLS first (port 465).
    pub fn connect(peer: &Peer<'_>, tls: Option<&Arc<ClientConfig>>) -> Result<Wire, Failure> {
        let tcp = open(peer)?;
        // Nagle would hold back the last small write of a command.
        let _ = tcp.set_nodelay(true);
        let timed = Timed::new(tcp, Instant::now() + peer.timeout);
        let mut wire = Wire {
            stream: Stream::Plain(timed),
            buffer: Vec::new(),
            timeout: peer.timeout,
            peer: peer.name(),
            server: ServerInfo::default(),
            pipelining: false,
            broken: false,
        };
        if let Some(config) = tls {
            wire.secure(peer.host, config)?;
        }
        wire.start();
        let greeting = wire.reply("greet")?;
        if !greeting.is_positive() {
            return Err(Failure::Reply(greeting));
        }
        Ok(wire)
    }

    /// EHLO, keeping what the server offers.
    pub fn hello(&mut self, id: &ClientId) -> Result<(), Failure> {
        let reply = self.command(Ehlo::new(id.clone()), "answer EHLO")?;
        self.server = ServerInfo::from_response(&reply)
            .map_err(|e| self.lose(format!("an EHLO reply that makes no sense: {e}")))?;
        // The first line is the server's name; each later one starts with a keyword.
        self.pipelining = reply.message().skip(1).any(|line| {
            let keyword = line.split_ascii_whitespace().next().unwrap_or("");
            keyword.eq_ignore_ascii_case("PIPELINING")
        });
        Ok(())
    }

    pub fn offers(&self, extension: Extension) -> bool {
        self.server.supports_feature(extension)
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// STARTTLS, the handshake, and EHLO again (RFC 3207).
    pub fn starttls(
        &mut self,
        host: &str,
        config: &Arc<ClientConfig>,
        id: &ClientId,
    ) -> Result<(), Failure> {
        self.command(Starttls, "answer STARTTLS")?;
        if !self.buffer.is_empty() {
            // Text sent before the handshake could be an attacker's injected command.
            return Err(self.lose("the server sent data before the TLS handshake".into()));
        }
        self.start();
        self.secure(host, config)?;
        self.hello(id)
    }

    /// AUTH with the first of PLAIN and LOGIN the server offers.
    pub fn login(&mut self, credentials: &Credentials) -> Result<(), Failure> {
        let mechanism = self
            .server
            .get_auth_mechanism(&[Mechanism::Plain, Mechanism::Login])
            .ok_or_else(|| {
                Failure::Fatal("the server offers neither AUTH PLAIN nor AUTH LOGIN".into())
            })?;
        let refuse = |e: lettre::transport::smtp::Error| Failure::Fatal(format!("login: {e}"));
        let mut reply = self.exchange(
            Auth::new(mechanism, credentials.clone(), None).map_err(refuse)?,
            "answer AUTH",
        )?;
        for _ in 0..10 {
            if !reply.has_code(334) {
                break;
            }
            let next =
                Auth::new_from_response(mechanism, credentials.clone(), &reply).map_err(refuse)?;
            reply = self.exchange(next, "answer AUTH")?;
        }
        if reply.is_positive() && !reply.has_code(334) {
            Ok(())
        } else {
            Err(Failure::Reply(reply))
        }
    }

    /// Sends one command and reads its reply; a 4xx or 5xx is a failure.
    pub fn command(&mut self, command: impl Display, what: &str) -> Result<Response, Failure> {
        let reply = self.exchange(command, what)?;
        if reply.is_positive() {
            Ok(reply)
        } else {
            if reply.has_code(421) {
                // "Service not available, closing transmission channel".
                self.broken = true;
            }
            Err(Failure::Reply(reply))
        }
    }

    /// Sends `commands` (each with what its reply is for) and reads their
    /// replies; `Ok` when every one is positive, else the first failure.
    ///
    /// When the server offers PIPELINING (RFC 2920) they go in one write and
    /// the replies are read after: one round trip instead of one each.
    /// Every reply is then read even after a refusal, so the next command
    /// meets a connection in step. Otherwise each waits for the one before,
    /// and the first refusal ends the group.
    pub fn commands(&mut self, commands: &[(String, &str)]) -> Result<(), Failure> {
        if !self.pipelining {
            for (command, what) in commands {
                self.command(command, what)?;
            }
            return Ok(());
        }
        self.start();
        let group: String = commands
            .iter()
            .map(|(command, _)| command.as_str())
            .collect();
        self.send_bytes(group.as_bytes(), commands.first().map_or("", |c| c.1))?;
        let mut refused = None;
        for (_, what) in commands {
            let reply = self.reply(what)?;
            if reply.has_code(421) {
                // The server is closing: no more replies will come.
                self.broken = true;
                return Err(Failure::Reply(reply));
            }
            if !reply.is_positive() {
                refused.get_or_insert(Failure::Reply(reply));
            } else if refused.is_some() {
                // Accepted after an earlier refusal (a DATA answered 354 with no
                // recipient, say): the server now waits for what follows. Only
                // a new connection is surely back in step.
                self.close();
                break;
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// Sends one command and reads its reply, whatever it says.
    fn exchange(&mut self, command: impl Display, what: &str) -> Result<Response, Failure> {
        self.start();
        self.send_bytes(command.to_string().as_bytes(), what)?;
        self.reply(what)
    }

    /// Writes bytes under the current deadline.
    pub fn send_bytes(&mut self, bytes: &[u8], what: &str) -> Result<(), Failure> {
        let written = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush());
        written.map_err(|e| self.io_failure(e, what))
    }

    /// Starts a new command's deadline.
    pub fn start(&mut self) {
        self.stream.timed().deadline = Instant::now() + self.timeout;
    }

    /// Reads one whole reply (every line of a multi-line one), bounded in
    /// size and by the current deadline.
    pub fn reply(&mut self, what: &str) -> Result<Response, Failure> {
        let mut scanned = 0;
        let mut line_start = 0;
        loop {
            while let Some(offset) = self.buffer[scanned..].iter().position(|&b| b == b'\n') {
                let line_end = scanned + offset + 1;
                let line = &self.buffer[line_start..line_end];
                // The last line of a reply has a space (or nothing) after its code.
                let last = line.get(3).is_none_or(|&b| b != b'-');
                scanned = line_end;
                line_start = line_end;
                if last {
                    return self.take_reply(line_end);
                }
            }
            scanned = self.buffer.len();
            if self.buffer.len() > MAX_REPLY {
                return Err(self.lose(format!(
                    "the server's reply passed {} KB without ending (a reply is a few lines); giving up on this connection",
                    MAX_REPLY / 1024
                )));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(
                        self.lose(format!("the server closed the connection instead of a reply (waiting for it to {what})"))
                    );
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_failure(e, what)),
            }
        }
    }

    fn take_reply(&mut self, end: usize) -> Result<Response, Failure> {
        let bytes: Vec<u8> = self.buffer.drain(..end).collect();
        let text = String::from_utf8_lossy(&bytes);
        Response::from_str(&text).map_err(|_| {
            let shown: String = text.chars().take(80).flat_map(char::escape_debug).collect();
            self.lose(format!("the server's reply is not SMTP: \"{shown}\""))
        })
    }

    /// Wraps the socket in TLS and completes the handshake under the deadline.
    fn secure(&mut self, host: &str, config: &Arc<ClientConfig>) -> Result<(), Failure> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| Failure::Fatal(format!("{host}: not a name TLS can check: {e}")))?;
        let connection = ClientConnection::new(config.clone(), name)
            .map_err(|e| Failure::Fatal(format!("cannot start TLS: {e}")))?;
        let clone = self
            .stream
            .timed()
            .tcp
            .try_clone()
            .map_err(|e| self.io_failure(e, "start TLS"))?;
        // Never read or written: it only holds the place until TLS is on.
        let placeholder = Stream::Plain(Timed::new(clone, Instant::now()));
        let Stream::Plain(timed) = std::mem::replace(&mut self.stream, placeholder) else {
            return Err(Failure::Fatal("TLS is already on".into()));
        };
        let mut tls = StreamOwned::new(connection, timed);
        while tls.conn.is_handshaking() {
            if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                self.broken = true;
                let text = if e.kind() == io::ErrorKind::TimedOut {
                    format!(
                        "{}: the TLS handshake did not finish within {}",
                        self.peer,
                        shown(self.timeout)
                    )
                } else {
                    format!("{}: TLS handshake failed: {e}", self.peer)
                };
                return Err(Failure::Fatal(text));
            }
        }
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    fn io_failure(&mut self, e: io::Error, what: &str) -> Failure {
        if e.kind() == io::ErrorKind::TimedOut {
            let text = format!("the server did not {what} within {}", shown(self.timeout));
            return self.lose(text);
        }
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            self.broken = true;
            return Failure::Fatal(format!("{}: TLS: {e}", self.peer));
        }
        self.lose(format!(
            "connection lost (waiting for the server to {what}): {e}"
        ))
    }

    /// Marks the connection unusable; the failure names the server.
    fn lose(&mut self, text: String) -> Failure {
        self.broken = true;
        Failure::Lost(format!("{}: {text}", self.peer))
    }

    /// Whether a failure left it unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// QUIT, politely, under one short deadline; then close.
    pub fn quit(mut self) {
        if !self.broken {
            let _ = self.exchange(Quit, "answer QUIT");
        }
        self.close();
    }

    /// Closes at once.
    pub fn close(&mut self) {
        self.broken = true;
        let _ = self.stream.timed().tcp.shutdown(Shutdown::Both);
    }
}

/// Resolves and connects, each bounded by the timeout. A refused connection
/// or a name that does not resolve is known at once and says so.
fn open(peer: &Peer<'_>) -> Result<TcpStream, Failure> {
    let addresses = resolve(peer)?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, peer.timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    let name = peer.name();
    Err(match last {
        Some(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            Failure::Lost(format!(
                "{name}: no answer to the connection within {}",
                shown(peer.timeout)
            ))
        }
        Some(e) => Failure::Unreachable(format!("cannot connect to {name}: {e}")),
        None => Failure::Unreachable(format!("cannot connect to {name}: the name has no address")),
    })
}

/// The host's addresses. The system resolver has no timeout of its own, so
/// it runs on a thread of its own and is given up on after the timeout.
fn resolve(peer: &Peer<'_>) -> Result<Vec<SocketAddr>, Failure> {
    let (tx, rx) = mpsc::channel();
    let target = (peer.host.to_string(), peer.port);
    thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    match rx.recv_timeout(peer.timeout) {
        Ok(Ok(addresses)) => Ok(addresses),
        Ok(Err(e)) => Err(Failure::Unreachable(format!(
            "cannot connect to {}: the name {} does not resolve: {e}",
            peer.name(),
            peer.host
        ))),
        Err(_) => Err(Failure::Lost(format!(
            "{}: the name {} did not resolve within {}",
            peer.name(),
            peer.host,
            shown(peer.timeout)
        ))),
    }
}

/// "30s", "1.5s", "500ms".
pub fn shown(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_shown_as_the_config_writes_them() {
        assert_eq!(shown(Duration::from_secs(30)), "30s");
        assert_eq!(shown(Duration::from_millis(500)), "500ms");
        assert_eq!(shown(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn a_socket_timeout_is_set_only_when_the_one_set_could_outlast_the_deadline() {
        let ms = Duration::from_millis;
        let mut set = None;
        assert_eq!(arm(&mut set, ms(1600)), Some(ms(1600)), "nothing set yet");
        assert_eq!(arm(&mut set, ms(1600)), None);
        assert_eq!(arm(&mut set, ms(1500)), None, "within a sixteenth");
        assert_eq!(arm(&mut set, ms(1499)), Some(ms(1499)), "past it");
        assert_eq!(arm(&mut set, ms(3000)), None, "ends early: read again");
    }

    #[test]
    fn a_read_whose_socket_timeout_ends_before_the_deadline_waits_for_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            thread::sleep(Duration::from_millis(300));
            peer.write_all(b"2").unwrap();
            // Held open until the client has read.
            let _ = peer.read(&mut [0u8; 1]);
        });
        let tcp = TcpStream::connect(address).unwrap();
        let mut timed = Timed::new(tcp, Instant::now() + Duration::from_secs(20));
        // As after a command whose timeout was nearly spent: the socket's
        // timeout ends long before this command's deadline.
        timed.set[Way::Read as usize] = Some(Duration::from_millis(20));
        timed
            .tcp
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(timed.read(&mut byte).unwrap(), 1);
        assert_eq!(&byte, b"2");
        timed.tcp.shutdown(Shutdown::Both).unwrap();
        server.join().unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let tcp = TcpStream::connect(address).unwrap();
        let _held = listener.accept().unwrap();
        let mut timed = Timed::new(tcp, Instant::now() + Duration::from_millis(100));
        let error = timed.read(&mut byte).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    }
}
