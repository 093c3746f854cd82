//! The confirmation mail of a web signup: plain text, short, with the one
//! link that leads to the confirm button.
//!
//! Nothing the submitter typed is in it (not the name, which is how list
//! bombers write to their victims through other people's forms): only the
//! site's own title and URL, written by the author, and the link. The
//! address it goes to is the one typed, but that is where it goes anyway.

use std::time::SystemTime;

use lettre::address::{Address, Envelope};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox};

use crate::email::message::{ComposeError, Letter, Letterhead, fnv1a};
use crate::email::template::one_line;

/// What a confirmation mail stands for where a post's id would (its VERP
/// tag): no post, so a bounce of it is the reader's and no post's.
const CONFIRMATION: &str = "herald:confirmation";

/// The site as the mail names it.
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    pub letterhead: &'a Letterhead,
    pub title: &'a str,
    pub url: &'a str,
}

impl Sender<'_> {
    /// The mail asking `to` (whose ledger token is `token`) to confirm
    /// through `link`. Signed when `[email.dkim]` is written, and sent from
    /// `email.envelope_from` when that is set, with the reader's VERP token,
    /// so a bounce finds them as one of a post's would.
    pub fn confirmation(
        &self,
        to: &str,
        token: &str,
        link: &str,
        date: SystemTime,
    ) -> Result<Letter, ComposeError> {
        let address: Address = to
            .trim()
            .parse()
            .map_err(|_| ComposeError::Address(to.to_string()))?;
        let title = one_line(self.title);
        let message_id = format!(
            "herald.confirm.{:016x}@{}",
            fnv1a(link.as_bytes()),
            self.letterhead.domain
        );
        let body = format!(
            "Someone, probably you, asked to get {title} ({url}) by email at this address.\n\
             \n\
             To confirm, open this link and press the button there:\n\
             \n\
             {link}\n\
             \n\
             The link works for 7 days. If it was not you, ignore this mail:\n\
             nothing more will be sent to you.\n",
            url = self.url,
        );
        let mut message = lettre::Message::builder()
            .from(self.letterhead.from.clone())
            .to(Mailbox::new(None, address))
            .subject(format!("Confirm your subscription to {title}"))
            .date(date)
            .message_id(Some(format!("<{message_id}>")))
            // RFC 3834: a machine wrote it; vacation responders keep quiet.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .header(ContentType::TEXT_PLAIN)
            .header(lettre::message::header::MIME_VERSION_1_0)
            .body(text_body(body))
            .map_err(|e| ComposeError::Build(e.to_string()))?;
        if let Some(signer) = &self.letterhead.signer {
            signer.sign(&mut message);
        }
        let envelope = match &self.letterhead.envelope_from {
            Some(sender) => Envelope::new(
                Some(sender.address(token, CONFIRMATION)?),
                message.envelope().to().to_vec(),
            )
            .map_err(|e| ComposeError::Build(e.to_string()))?,
            None => message.envelope().clone(),
        };
        Ok(Letter {
            envelope,
            bytes: message.formatted(),
            message_id,
        })
    }
}

/// The body as 7bit when it can be (ASCII, every line far below RFC
/// 5322's 998 octets): the link then reads in the raw message as it is.
/// lettre would pick quoted-printable for any line over 76 characters,
/// breaking the link with soft line breaks and `=3D`s, which some
/// clients' "view source" and every copy from a raw message keep. The
/// body's headers are the message's own (no MIME part of one), so that a
/// DKIM signature covers them as they are sent.
fn text_body(body: String) -> Body {
    let crlf = body.replace("\r\n", "\n").replace('\n', "\r\n");
    if !crlf.is_ascii() || crlf.split("\r\n").any(|line| line.len() > 900) {
        return Body::new(body);
    }
    Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_has_the_link_and_the_site_and_goes_to_the_address_alone() {
        let letterhead = Letterhead {
            from: "Jane <jane@notes.test>".parse().unwrap(),
            domain: "notes.test".into(),
            list_id: "Notes <notes.test>".into(),
            signer: None,
            envelope_from: None,
        };
        let sender = Sender {
            letterhead: &letterhead,
            title: "Working notes",
            url: "https://notes.test",
        };
        let link = "https://notes.test/n/confirm?t=abc.123.def";
        let letter = sender
            .confirmation("ada@notes.test", "0123abcd", link, SystemTime::now())
            .unwrap();
        let text = String::from_utf8(letter.bytes).unwrap();
        assert!(text.contains(&format!("\r\n{link}\r\n")), "{text}");
        assert!(text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
        assert!(
            text.contains("Subject: Confirm your subscription to Working notes"),
            "{text}"
        );
        assert!(text.contains("To: ada@notes.test\r\n"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
    }
}
