//! The optional proof of work (`serve.proof_of_work = BITS`): the form
//! carries a signed challenge, a small script (served from here, no third
//! party) searches for a number whose SHA-256 with the challenge starts
//! with BITS zero bits, and the server checks it with one hash. It costs a
//! person's browser a second or two once, and a robot that posts
//! thousands of forms as many seconds of CPU each. Each challenge counts
//! once. Without JavaScript the form says why it cannot be sent.
//!
//! Browsers give the script SHA-256 (`crypto.subtle`) only on HTTPS pages
//! (and on localhost), which is where the pages are meant to be.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::App;

/// How long a challenge may be used, and is remembered once used.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Used challenges remembered at most; past it, the expired ones go, and
/// if none has, the proof is refused until some do.
const MAX_USED: usize = 200_000;

const SCRIPT: &str = include_str!("work.js");

/// A fresh challenge for a form, when proof of work is asked for.
pub fn challenge(app: &App, now: DateTime<Utc>) -> Option<String> {
    let bits = app.config.proof_of_work;
    if bits == 0 {
        return None;
    }
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).ok()?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    Some(app.keys.work_challenge(bits, now, &nonce))
}

pub enum Verdict {
    NotAsked,
    Done,
    /// No proof, a wrong one, or an expired challenge: the form again.
    Missing,
    /// A proof already used: a robot's.
    Replayed,
}

/// Checks the form's challenge and proof.
pub fn check(app: &App, work: Option<&str>, proof: Option<&str>, now: DateTime<Utc>) -> Verdict {
    let bits = app.config.proof_of_work;
    if bits == 0 {
        return Verdict::NotAsked;
    }
    let (Some(work), Some(proof)) = (work, proof) else {
        return Verdict::Missing;
    };
    let Some((asked, issued)) = app.keys.work_terms(work) else {
        return Verdict::Missing;
    };
    let fresh = (now - issued).to_std().is_ok_and(|age| age < LIFETIME);
    if !fresh || asked < bits || proof.len() > 20 || !solves(work, proof, asked) {
        return Verdict::Missing;
    }
    if !first_use(app, work) {
        return Verdict::Replayed;
    }
    Verdict::Done
}

/// Whether SHA-256("challenge:proof") starts with `bits` zero bits.
pub fn solves(challenge: &str, proof: &str, bits: u8) -> bool {
    let digest = Sha256::new()
        .chain_update(challenge.as_bytes())
        .chain_update(b":")
        .chain_update(proof.as_bytes())
        .finalize();
    leading_zero_bits(&digest) >= u32::from(bits)
}

fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut zeros = 0;
    for byte in bytes {
        zeros += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    zeros
}

fn first_use(app: &App, challenge: &str) -> bool {
    let mut used = app.used_work.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    if used.len() >= MAX_USED {
        used.retain(|_, at: &mut Instant| now.duration_since(*at) < LIFETIME);
        if used.len() >= MAX_USED {
            return false;
        }
    }
    used.insert(challenge.to_string(), now).is_none()
}

pub type Used = HashMap<String, Instant>;

/// The solver, served from here (the pages' Content-Security-Policy
/// allows scripts from this origin only).
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_found_and_checked_by_its_leading_zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        let challenge = "8.1700000000.abcd.tag";
        let proof = (0u32..)
            .map(|n| n.to_string())
            .find(|p| solves(challenge, p, 8))
            .unwrap();
        assert!(solves(challenge, &proof, 8));
        let digest = Sha256::digest(format!("{challenge}:{proof}"));
        assert_eq!(digest[0], 0);
    }
}
