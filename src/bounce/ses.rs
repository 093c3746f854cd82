//! Amazon SES notifications that reach a mailbox as JSON: an SNS topic's
//! email subscription delivers the notification itself ("email") or SNS's
//! envelope around it ("email-json", the notification in `Message`). Both
//! the older `notificationType` and event publishing's `eventType` are
//! read. SES's own forwarded bounces (feedback forwarding) are ordinary
//! DSNs, read by `dsn`.

use mail_parser::Message;
use serde_json::Value;

use super::report::{Failure, Form, Report, addresses_in};
use super::status::{Enhanced, Verdict, judge};

/// Fills `report` from an SES notification, if the message is one.
pub fn read(message: &Message<'_>, report: &mut Report) -> bool {
    let Some(text) = message.body_text(0) else {
        return false;
    };
    let Some(notification) = notification(&text) else {
        return false;
    };
    let kind = notification
        .get("notificationType")
        .or_else(|| notification.get("eventType"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mail = &notification["mail"];
    if let Some(source) = mail["source"].as_str() {
        report.envelope.extend(addresses_in(source));
    }
    // herald's Message-ID, in `mail.headers` and `mail.commonHeaders`, was
    // found with the rest of the message's text (`Report::parse`).
    match kind {
        "Bounce" => read_bounce(&notification["bounce"], report),
        "Complaint" => read_complaint(&notification["complaint"], report),
        other => {
            report.form =
                Form::NotABounce(format!("an Amazon SES {other} notification, not a bounce"));
        }
    }
    true
}

/// The notification: the body itself, or SNS's envelope's `Message`. SNS
/// adds a footer after the JSON, and some mail systems wrap its one long
/// line ("!" at the break, a space after it).
fn notification(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let json = text.get(start..=end)?;
    if !json.contains("Type") {
        return None;
    }
    let value: Value = serde_json::from_str(json)
        .or_else(|_| {
            let unwrapped = json.replace("!\r\n ", "").replace("!\n ", "");
            serde_json::from_str(&unwrapped)
        })
        .ok()?;
    if let Some(inner) = value.get("Message").and_then(Value::as_str) {
        return serde_json::from_str(inner).ok();
    }
    let is_ses = value.get("notificationType").is_some() || value.get("eventType").is_some();
    is_ses.then_some(value)
}

/// SES's bounceType decides: Permanent is hard unless the subtype (or the
/// code) says the message was the problem; Transient is soft.
fn read_bounce(bounce: &Value, report: &mut Report) {
    report.form = Form::Ses;
    let kind = bounce["bounceType"].as_str().unwrap_or_default();
    let subtype = bounce["bounceSubType"].as_str().unwrap_or_default();
    let about_the_message = matches!(
        subtype,
        "MessageTooLarge" | "ContentRejected" | "AttachmentRejected"
    );
    for recipient in bounce["bouncedRecipients"].as_array().into_iter().flatten() {
        let status = recipient["status"].as_str().and_then(Enhanced::parse);
        let diagnostic = recipient["diagnosticCode"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("Amazon SES: {kind} bounce ({subtype})"));
        let judged = judge(status.or_else(|| Enhanced::find(&diagnostic)), &diagnostic);
        let verdict = match (kind, about_the_message, judged) {
            (_, true, _) | (_, _, Verdict::Message) => Verdict::Message,
            ("Permanent", ..) => Verdict::Hard,
            _ => Verdict::Soft,
        };
        report.failures.push(Failure {
            recipient: recipient["emailAddress"].as_str().map(str::to_string),
            original: None,
            status,
            diagnostic,
            verdict,
        });
    }
}

fn read_complaint(complaint: &Value, report: &mut Report) {
    let kind = complaint["complaintFeedbackType"]
        .as_str()
        .unwrap_or("abuse");
    if kind == "not-spam" {
        report.form = Form::NotABounce("an Amazon SES not-spam report, not a complaint".into());
        return;
    }
    report.form = Form::Feedback;
    report.complaint = true;
    for recipient in complaint["complainedRecipients"]
        .as_array()
        .into_iter()
        .flatten()
    {
        report.failures.push(Failure {
            recipient: recipient["emailAddress"].as_str().map(str::to_string),
            original: None,
            status: None,
            diagnostic: format!("reported as {kind} (Amazon SES complaint)"),
            verdict: Verdict::Hard,
        });
    }
}
