//! A real SMTP server (mailin-embedded, on 127.0.0.1, port 0) that keeps
//! every message it accepts with its envelope sender, and answers chosen
//! recipients with a chosen reply ("550 5.1.1 ..."), as a receiving
//! server does for an address it does not have.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Response, Server, response};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// MAIL FROM: the envelope sender (VERP address).
    pub from: String,
    pub to: Vec<String>,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Default)]
struct Mailbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Recipient -> (code, text) answered to its RCPT.
    replies: Arc<Mutex<HashMap<String, (u16, String)>>>,
    from: String,
    current: Option<Received>,
}

impl Handler for Mailbox {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match self.replies.lock().unwrap().get(to) {
            Some((code, text)) => Response::custom(*code, text.clone()),
            None => response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: self.from.clone(),
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

/// A running server: its port, what it received, what it refuses.
pub struct SmtpServer {
    pub port: u16,
    mailbox: Mailbox,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mailbox = Mailbox::default();
        let handler = mailbox.clone();
        // mailin's Error is not Send: the server is built and run inside its thread.
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server.with_name("localhost").with_num_threads(4);
            server.with_tcp_listener(listener);
            let _ = server.serve();
        });
        SmtpServer { port, mailbox }
    }

    /// From now on, RCPT TO `address` is answered `code text`.
    pub fn refuse(&self, address: &str, code: u16, text: &str) {
        self.mailbox
            .replies
            .lock()
            .unwrap()
            .insert(address.to_string(), (code, text.to_string()));
    }

    pub fn received(&self) -> Vec<Received> {
        self.mailbox.received.lock().unwrap().clone()
    }

    /// The recipients of every accepted message, sorted.
    pub fn recipients(&self) -> Vec<String> {
        let mut to: Vec<String> = self.received().into_iter().flat_map(|r| r.to).collect();
        to.sort();
        to
    }
}
