//! A real SMTP server for tests (mailin-embedded, in this process, on
//! 127.0.0.1 and a free port) that keeps every message it accepts with its
//! envelope sender, and answers chosen recipients with a chosen reply
//! ("550 5.1.1 ..."), as a receiving server does for an address it does
//! not have. Shared by tests/serve.rs and tests/deliverability.rs.

// Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, Server, response};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    pub to: Vec<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<Received>>>,
    /// Recipient -> (code, text) answered to its RCPT.
    replies: Arc<Mutex<HashMap<String, (u16, String)>>>,
    current: Option<Received>,
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        match self.replies.lock().unwrap().get(to) {
            Some((code, text)) => Response::custom(*code, text.clone()),
            None => response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_string(),
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
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<HashMap<String, (u16, String)>>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let collector = Collector::default();
        let received = Arc::clone(&collector.received);
        let replies = Arc::clone(&collector.replies);
        // mailin's Error is not Send: the server is built and run inside its thread.
        std::thread::spawn(move || {
            let mut server = Server::new(collector);
            server.with_name("localhost").with_num_threads(4);
            server.with_tcp_listener(listener);
            let _ = server.serve();
        });
        SmtpServer {
            port,
            received,
            replies,
        }
    }

    /// From now on, RCPT TO `address` is answered `code text`.
    pub fn refuse(&self, address: &str, code: u16, text: &str) {
        self.replies
            .lock()
            .unwrap()
            .insert(address.to_string(), (code, text.to_string()));
    }

    /// The recipients of every accepted message, sorted.
    pub fn recipients(&self) -> Vec<String> {
        let mut to: Vec<String> = self.received().into_iter().flat_map(|r| r.to).collect();
        to.sort();
        to
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The messages to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `address` has `count` messages (a server sends off the
    /// request path), and gives them; fails after a generous while.
    pub fn wait_for(&self, address: &str, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.to(address);
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{address} got {} of {count} messages",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `[smtp]` for herald, pointing here.
    pub fn config(&self) -> String {
        format!(
            "\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\nconnections = 2\nrate = \"1000/s\"\ntimeout = \"5s\"\nretries = 2\nbackoff = \"10ms\"\n",
            self.port
        )
    }
}
