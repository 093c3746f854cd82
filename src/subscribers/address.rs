//! Addresses as people write them, checked once and brought to the one
//! spelling the ledger stores; and unsubscribe tokens.

use std::str::FromStr;

/// An address as written on the command line or in an export, checked,
/// with the display name it came with (`Zed <zed@example.com>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The one stored spelling: see [`normalise`].
    pub email: String,
    pub name: Option<String>,
}

/// Checks an address and gives its one stored spelling: trimmed, without
/// `mailto:`, a display name or angle brackets; the local part in lower case
/// (mail providers treat it without case, and two spellings must not be two
/// subscribers); the domain as its IDNA A-label (`xn--...`), so that the
/// Unicode and punycode forms of one domain are one subscriber, and the
/// address is one every server takes. Refused: what no ordinary server
/// delivers to (a quoted local part, an IP address for a domain) and a
/// non-ASCII local part (that needs SMTPUTF8, which herald does not use).
pub fn normalise(address: &str) -> std::result::Result<String, String> {
    parse(address).map(|mailbox| mailbox.email)
}

/// [`normalise`], keeping the display name.
pub fn parse(text: &str) -> std::result::Result<Mailbox, String> {
    let trimmed = text.trim();
    let trimmed = trimmed.strip_prefix("mailto:").unwrap_or(trimmed);
    let (name, address) = match trimmed.strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
        Some((name, address)) => (display_name(name), address.trim()),
        None => (None, trimmed),
    };
    if address.is_empty() {
        return Err("the address is empty".into());
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{address:?} is not an email address: it contains spaces or control characters"
        ));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(format!("{address:?} is not an email address: no @"));
    };
    let email = format!(
        "{}@{}",
        local_part(address, local)?,
        domain_part(address, domain)?
    );
    lettre::Address::from_str(&email)
        .map_err(|e| format!("{address:?} is not an email address ({e})"))?;
    Ok(Mailbox { email, name })
}

/// `Zed` or `"Zed, Z."` before `<...>`; none when blank.
fn display_name(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn local_part(address: &str, local: &str) -> std::result::Result<String, String> {
    if local.starts_with('"') {
        return Err(format!(
            "{address:?}: a quoted local part is refused (few mail servers accept one; ask for the plain address)"
        ));
    }
    if !local.is_ascii() {
        return Err(format!(
            "{address:?}: a non-ASCII name before the @ needs SMTPUTF8, which herald does not use; \
             refused (ask the reader for an ASCII address)"
        ));
    }
    Ok(local.to_ascii_lowercase())
}

fn domain_part(address: &str, domain: &str) -> std::result::Result<String, String> {
    if domain.starts_with('[') {
        return Err(format!(
            "{address:?}: an IP address in place of a domain is refused (mail servers do not deliver to one)"
        ));
    }
    let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| {
        format!("{address:?} is not an email address: {domain:?} is not a valid domain name")
    })?;
    if !ascii.contains('.') || ascii.starts_with('.') || ascii.ends_with('.') {
        return Err(format!(
            "{address:?} is not an email address: no full domain after the @"
        ));
    }
    Ok(ascii)
}

/// An unsubscribe token as herald makes them: 32 hex digits.
pub fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_unwrapped_and_lower_cased() {
        assert_eq!(
            normalise("  <Ada@Example.ORG> ").unwrap(),
            "ada@example.org"
        );
        assert_eq!(
            normalise("mailto:bob@example.org").unwrap(),
            "bob@example.org"
        );
    }

    #[test]
    fn bad_addresses_say_why() {
        assert!(normalise("").unwrap_err().contains("empty"));
        assert!(
            normalise("ada")
                .unwrap_err()
                .contains("not an email address")
        );
        assert!(
            normalise("ada@localhost")
                .unwrap_err()
                .contains("full domain")
        );
        assert!(
            normalise("a da@example.org")
                .unwrap_err()
                .contains("spaces")
        );
        assert!(normalise("ada@example.org\r\nBcc: x@y.org").is_err());
    }

    #[test]
    fn a_display_name_is_kept_and_an_idn_domain_becomes_its_a_label() {
        assert_eq!(
            parse("\"Grace H.\" <Grace@Exämple.COM>").unwrap(),
            Mailbox {
                email: "grace@xn--exmple-cua.com".into(),
                name: Some("Grace H.".into()),
            }
        );
        assert_eq!(
            normalise("grace@xn--exmple-cua.com").unwrap(),
            "grace@xn--exmple-cua.com"
        );
        assert!(
            normalise("\"a@b\"@example.org")
                .unwrap_err()
                .contains("quoted")
        );
        assert!(
            normalise("a@[127.0.0.1]")
                .unwrap_err()
                .contains("IP address")
        );
        assert!(
            normalise("zoë@example.org")
                .unwrap_err()
                .contains("SMTPUTF8")
        );
    }
}
