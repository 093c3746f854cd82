//! A fault-injecting SMTP server on a real socket (127.0.0.1, a thread per
//! connection), for the faults a well-behaved server cannot be made to
//! produce on demand: silence, a slow or endless greeting, 421 and close, a
//! connection dropped around DATA, greylisting, a broken STARTTLS, and a
//! slow reply to the message body (so that a kill lands mid-send).
//!
//! [`FaultServer::pipelining`] offers PIPELINING (RFC 2920) as well, and
//! counts the transactions whose commands came in one group.
//!
//! It keeps its own record: the recipient of every message whose body it
//! received in full (`received`), whether or not its reply got out, and of
//! every message it answered 250 (`accepted`). Tests check herald's ledger
//! against this record, never against herald's own account.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the server does wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Accepts the connection and never says a word.
    Hang,
    /// Greets after this long, then behaves.
    SlowGreeting(Duration),
    /// Greets one byte a second.
    Drip,
    /// Greets with a line that never ends (no CRLF, ever).
    EndlessLine,
    /// Answers MAIL with 421 and closes, on the first this-many connections.
    Close421(usize),
    /// Drops the connection at the first DATA command, then behaves.
    DropAtDataOnce,
    /// Reads every message body, then drops the connection instead of answering.
    DropAfterBody,
    /// Answers 451 to every other RCPT on each connection (the first included).
    GreylistEveryOther,
    /// Greylists the first RCPT the server sees, and answers DATA 354 even
    /// when no recipient was accepted (RFC 2920 3.1 warns of such servers;
    /// the others, Postfix among them, answer 554).
    LaxDataAfterGreylist,
    /// Offers STARTTLS, says 220, then sends bytes that are not TLS.
    BrokenTls,
    /// Waits this long before answering the end of each message body.
    SlowReply(Duration),
}

/// A running fault server: its port and its own record.
pub struct FaultServer {
    pub port: u16,
    record: Arc<Record>,
}

#[derive(Default)]
struct Record {
    /// Recipients of every body received in full.
    received: Mutex<Vec<String>>,
    /// Recipients of every body answered 250.
    accepted: Mutex<Vec<String>>,
    connections: AtomicUsize,
    dropped_at_data: AtomicUsize,
    rcpts: AtomicUsize,
    /// MAIL commands that arrived with the next command already behind them.
    pipelined: AtomicUsize,
    /// DATA sections that got any line with no recipient accepted: a client
    /// that went on (a body, a RSET taken for one) after DATA was answered
    /// 354 despite every RCPT failing.
    orphan_bodies: AtomicUsize,
}

impl FaultServer {
    pub fn start(fault: Fault) -> FaultServer {
        FaultServer::serve(fault, false)
    }

    /// The same, offering PIPELINING.
    pub fn pipelining(fault: Fault) -> FaultServer {
        FaultServer::serve(fault, true)
    }

    fn serve(fault: Fault, pipelining: bool) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let record = Arc::new(Record::default());
        let shared = record.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let record = shared.clone();
                let n = record.connections.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = session(stream, fault, pipelining, n, &record);
                });
            }
        });
        FaultServer { port, record }
    }

    /// Recipients of the messages answered 250, in order.
    pub fn accepted(&self) -> Vec<String> {
        self.record.accepted.lock().unwrap().clone()
    }

    /// Transactions whose MAIL came with the commands after it in one go.
    pub fn pipelined(&self) -> usize {
        self.record.pipelined.load(Ordering::SeqCst)
    }

    /// DATA sections that got lines for no recipient at all.
    pub fn orphan_bodies(&self) -> usize {
        self.record.orphan_bodies.load(Ordering::SeqCst)
    }

    /// Recipients of every message body received in full (answered or not).
    pub fn received(&self) -> Vec<String> {
        self.record.received.lock().unwrap().clone()
    }
}

/// One connection, start to end. Errors just end it (the client went away).
fn session(
    stream: TcpStream,
    fault: Fault,
    pipelining: bool,
    n: usize,
    record: &Record,
) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    match fault {
        Fault::Hang => return drain(&mut reader),
        Fault::SlowGreeting(wait) => thread::sleep(wait),
        Fault::Drip => {
            for byte in b"220 slow greeting\r\n" {
                writer.write_all(&[*byte])?;
                thread::sleep(Duration::from_secs(1));
            }
        }
        Fault::EndlessLine => {
            writer.write_all(b"220 ")?;
            let chunk = [b'a'; 8192];
            loop {
                writer.write_all(&chunk)?;
            }
        }
        _ => {}
    }
    if fault != Fault::Drip {
        writer.write_all(b"220 fault ready\r\n")?;
    }
    let mut to: Vec<String> = Vec::new();
    let mut rcpts = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                let tls = if fault == Fault::BrokenTls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                let group = if pipelining { "250-PIPELINING\r\n" } else { "" };
                write!(writer, "250-fault\r\n{tls}{group}250 8BITMIME\r\n")?;
            }
            "STAR" => {
                writer.write_all(b"220 go ahead\r\n")?;
                writer.write_all(b"this is not a TLS handshake at all\r\n")?;
                return drain(&mut reader);
            }
            "MAIL" => {
                if let Fault::Close421(first) = fault
                    && n < first
                {
                    writer.write_all(b"421 4.3.2 shutting down, try later\r\n")?;
                    return Ok(());
                }
                to.clear();
                if !reader.buffer().is_empty() {
                    record.pipelined.fetch_add(1, Ordering::SeqCst);
                }
                writer.write_all(b"250 ok\r\n")?;
            }
            "RCPT" => {
                rcpts += 1;
                let first_seen = record.rcpts.fetch_add(1, Ordering::SeqCst) == 0;
                if (fault == Fault::GreylistEveryOther && rcpts % 2 == 1)
                    || (fault == Fault::LaxDataAfterGreylist && first_seen)
                {
                    writer.write_all(b"451 4.7.1 greylisted, try again\r\n")?;
                    continue;
                }
                to.push(address(&line));
                writer.write_all(b"250 ok\r\n")?;
            }
            "DATA" => {
                if fault == Fault::DropAtDataOnce
                    && record.dropped_at_data.fetch_add(1, Ordering::SeqCst) == 0
                {
                    return Ok(());
                }
                if to.is_empty() && fault != Fault::LaxDataAfterGreylist {
                    writer.write_all(b"554 5.5.1 no valid recipients\r\n")?;
                    continue;
                }
                writer.write_all(b"354 go on\r\n")?;
                let (complete, lines) = body(&mut reader)?;
                if to.is_empty() && lines > 0 {
                    record.orphan_bodies.fetch_add(1, Ordering::SeqCst);
                }
                if !complete {
                    return Ok(());
                }
                record.received.lock().unwrap().extend(to.iter().cloned());
                match fault {
                    Fault::DropAfterBody => return Ok(()),
                    Fault::SlowReply(wait) => thread::sleep(wait),
                    _ => {}
                }
                writer.write_all(b"250 2.0.0 queued\r\n")?;
                record.accepted.lock().unwrap().extend(to.drain(..));
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => writer.write_all(b"250 ok\r\n")?,
        }
    }
}

/// Reads a message body up to the lone "."; whether it got there before
/// the client went away, and how many lines came.
fn body(reader: &mut BufReader<TcpStream>) -> std::io::Result<(bool, usize)> {
    let mut line = String::new();
    let mut lines = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok((false, lines));
        }
        lines += 1;
        if line == ".\r\n" {
            return Ok((true, lines));
        }
    }
}

/// Reads until the client closes, saying nothing.
fn drain(reader: &mut BufReader<TcpStream>) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    while reader.read(&mut buf)? > 0 {}
    Ok(())
}

/// `RCPT TO:<a@b> ...` -> `a@b`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line[start..].find('>').map_or(line.len(), |i| start + i);
    line[start..end].to_string()
}
