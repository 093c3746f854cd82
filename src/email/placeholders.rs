//! The addresses and links a reader sees must be the author's, not the
//! placeholders `herald init` writes: mailing `you@example.org` and links to
//! `https://example.org` to a real list is a mistake no one can take back.
//!
//! A placeholder is a name reserved for documentation or that only this
//! machine knows: `example.org`, `.com`, `.net` and their subdomains, the
//! `.example` and `.invalid` top-level domains, `localhost` and loopback
//! addresses. `.test` (RFC 6761) is *not* one: it is the name test suites
//! use for a site that looks real. `send` checks this; `send --to` (a copy
//! to the author) and `--dry-run` (nothing leaves) do not need it.

use std::net::IpAddr;

use url::Url;

use crate::config::Config;
use crate::email::message::from_mailbox;
use crate::error::{Error, Result};

/// Refuses when a value readers would see points at a placeholder.
pub fn refuse(config: &Config, config_path: &std::path::Path) -> Result<()> {
    let found = placeholders(config)?;
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::config(
        config_path,
        None,
        format!(
            "nothing was sent: {} still {} the placeholder that `herald init` wrote, and readers would see it.\n\
             Set your blog's real URL and your own address there. Meanwhile `herald send --dry-run` and \
             `herald send --to YOUR-ADDRESS` (a test copy) work.",
            found.join(", "),
            if found.len() == 1 { "holds" } else { "hold" },
        ),
    ))
}

/// Each configuration value that is a placeholder, as `key (value)`.
fn placeholders(config: &Config) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut check = |key: &str, value: &str, host: Option<String>| {
        if host.is_some_and(|h| is_placeholder_host(&h)) {
            found.push(format!("{key} ({value})"));
        }
    };
    check("site.url", &config.site.url, url_host(&config.site.url));
    let from = from_mailbox(config)?.email;
    let key = if config.email.from.is_some() {
        "email.from"
    } else {
        "site.author.email"
    };
    check(key, from.as_ref(), Some(from.domain().to_string()));
    if let Some(mailto) = &config.email.unsubscribe_mailto {
        let domain = mailto.rsplit_once('@').map(|(_, d)| d.trim().to_string());
        check("email.unsubscribe_mailto", mailto, domain);
    }
    if let Some(url) = &config.serve.public_url {
        check("serve.public_url", url, url_host(url));
    }
    if let Some(url) = &config.email.unsubscribe_url {
        check("email.unsubscribe_url", url, url_host(url));
    }
    // Bounces would go to a domain that is not the author's.
    if let Some(sender) = &config.email.envelope_from {
        let domain = sender.rsplit_once('@').map(|(_, d)| d.trim().to_string());
        check("email.envelope_from", sender, domain);
    }
    Ok(found)
}

fn url_host(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

/// Whether `host` (a domain or an IP address) is a placeholder.
pub fn is_placeholder_host(host: &str) -> bool {
    let host = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback() || ip.is_unspecified();
    }
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    ["example.org", "example.com", "example.net", "localhost"]
        .iter()
        .any(|d| under(d))
        || ["example", "invalid"].iter().any(|tld| under(tld))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_and_local_names_are_placeholders() {
        for host in [
            "example.org",
            "Example.COM",
            "blog.example.net",
            "example.org.",
            "localhost",
            "mail.localhost",
            "site.example",
            "x.invalid",
            "127.0.0.1",
            "[::1]",
        ] {
            assert!(is_placeholder_host(host), "{host}");
        }
    }

    #[test]
    fn real_and_test_names_are_not() {
        for host in [
            "janedoe.net",
            "notexample.org",
            "example.org.uk",
            "blog.test",
            "192.0.2.1",
        ] {
            assert!(!is_placeholder_host(host), "{host}");
        }
    }

    #[test]
    fn an_init_config_is_refused_naming_each_value() {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://example.org\"\n[email]\nfrom = \"Me <me@jane.test>\"\nunsubscribe_mailto = \"you+unsubscribe@example.org\"\n",
            std::path::Path::new("config/herald.toml"),
        )
        .unwrap();
        let found = placeholders(&config).unwrap();
        assert_eq!(
            found,
            [
                "site.url (https://example.org)",
                "email.unsubscribe_mailto (you+unsubscribe@example.org)"
            ]
        );
    }

    #[test]
    fn a_bounce_address_on_a_placeholder_domain_is_refused() {
        let config = Config::parse(
            "[site]\ntitle = \"T\"\nurl = \"https://jane.test\"\n[email]\nfrom = \"Me <me@jane.test>\"\nenvelope_from = \"bounces+{{ token }}@example.org\"\n",
            std::path::Path::new("config/herald.toml"),
        )
        .unwrap();
        let found = placeholders(&config).unwrap();
        assert_eq!(
            found,
            ["email.envelope_from (bounces+{{ token }}@example.org)"]
        );
    }
}
