//! Counting in sliding windows: signups per client address, confirmation
//! mails for the whole site.
//!
//! Kept in memory: a restart forgets the per-client counts, which only
//! slow a flood, while the site's cap is rebuilt from the ledger at start
//! (`confirmations`), since it is what protects the sender's reputation.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::Rate;

/// Past this many clients tracked at once, the expired ones are dropped;
/// if that is not enough, new clients are refused until some expire.
const MAX_CLIENTS: usize = 100_000;

/// At most `rate.count` events in any `rate.per`.
#[derive(Debug)]
pub struct Window {
    rate: Rate,
    times: VecDeque<Instant>,
}

impl Window {
    pub fn new(rate: Rate) -> Window {
        Window {
            rate,
            times: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&first) = self.times.front() {
            if now.saturating_duration_since(first) < self.rate.per {
                break;
            }
            self.times.pop_front();
        }
    }

    /// Whether another event would exceed the rate.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.times.len() >= self.rate.count as usize
    }

    pub fn record(&mut self, at: Instant) {
        self.times.push_back(at);
    }

    /// Records an event if the rate allows it.
    pub fn admit(&mut self, now: Instant) -> bool {
        if self.is_full(now) {
            return false;
        }
        self.record(now);
        true
    }

    fn is_empty(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.times.is_empty()
    }

    /// How long until another event would be admitted.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.expire(now);
        match self.times.front() {
            Some(&first) if self.times.len() >= self.rate.count as usize => self
                .rate
                .per
                .saturating_sub(now.saturating_duration_since(first)),
            _ => Duration::ZERO,
        }
    }
}

/// One window per client.
#[derive(Debug)]
pub struct PerClient {
    rate: Rate,
    clients: HashMap<IpAddr, Window>,
}

impl PerClient {
    pub fn new(rate: Rate) -> PerClient {
        PerClient {
            rate,
            clients: HashMap::new(),
        }
    }

    /// Counts an attempt by `client`; false if it is over its rate.
    pub fn admit(&mut self, client: IpAddr, now: Instant) -> bool {
        if !self.clients.contains_key(&client) && self.clients.len() >= MAX_CLIENTS {
            self.clients.retain(|_, window| !window.is_empty(now));
            if self.clients.len() >= MAX_CLIENTS {
                return false;
            }
        }
        let rate = self.rate;
        self.clients
            .entry(client)
            .or_insert_with(|| Window::new(rate))
            .admit(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_rate_and_then_frees_up() {
        let rate = Rate {
            count: 2,
            per: Duration::from_secs(60),
        };
        let mut window = Window::new(rate);
        let t = Instant::now();
        assert!(window.admit(t));
        assert!(window.admit(t + Duration::from_secs(1)));
        assert!(!window.admit(t + Duration::from_secs(2)));
        assert_eq!(
            window.wait(t + Duration::from_secs(2)),
            Duration::from_secs(58)
        );
        assert!(window.admit(t + Duration::from_secs(60)));
    }

    #[test]
    fn clients_are_counted_apart() {
        let rate = Rate {
            count: 1,
            per: Duration::from_secs(60),
        };
        let mut limits = PerClient::new(rate);
        let t = Instant::now();
        assert!(limits.admit("192.0.2.1".parse().unwrap(), t));
        assert!(!limits.admit("192.0.2.1".parse().unwrap(), t));
        assert!(limits.admit("192.0.2.2".parse().unwrap(), t));
    }
}
