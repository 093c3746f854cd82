//! Who is asking: the peer's address, or, when the peer is a trusted
//! reverse proxy, the client it names in `X-Forwarded-For`.
//!
//! Only the configured proxies are believed: anyone can write the header,
//! so a peer that is not a proxy is taken as the client whatever it says.
//! The header is read from the right (each proxy appends the address it
//! saw), skipping trusted proxies; the first address that is not one is the
//! client. An entry that is not an address ends the walk there: what lies
//! to its left was written by someone no proxy vouches for.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;

/// The client's address as far as the trusted proxies can tell.
pub fn address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| {
        trusted
            .iter()
            .any(|t| t.to_canonical() == ip.to_canonical())
    };
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// An X-Forwarded-For entry: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:443` or `192.0.2.1:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    hop.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The unit a limit counts: an IPv4 address, or an IPv6 /64 (one
/// subscriber line gets a whole /64, so counting single IPv6 addresses
/// would let one machine look like billions).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = [ip("127.0.0.1")];
        let got = address(ip("203.0.113.9"), &headers(&["198.51.100.1"]), &trusted);
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_spoofed_left_part_is_ignored() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.2")];
        // The client wrote "1.1.1.1" itself; the proxies appended what they saw.
        let got = address(
            ip("127.0.0.1"),
            &headers(&["1.1.1.1, 198.51.100.7", "10.0.0.2"]),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(
            address(ip("127.0.0.1"), &headers(&[]), &trusted),
            ip("127.0.0.1")
        );
        let got = address(ip("127.0.0.1"), &headers(&["1.1.1.1, nonsense"]), &trusted);
        assert_eq!(got, ip("127.0.0.1"));
        let got = address(
            ip("::ffff:127.0.0.1"),
            &headers(&["[2001:db8::5]:4711"]),
            &trusted,
        );
        assert_eq!(got, ip("2001:db8::5"));
    }

    #[test]
    fn ipv6_addresses_are_counted_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
