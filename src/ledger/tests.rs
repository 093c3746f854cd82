use std::time::Duration;

use super::*;

fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join(".herald/herald.db")).unwrap();
    (dir, ledger)
}

fn sent(post: &str, id: i64) -> Outcome {
    Outcome {
        post_id: post.into(),
        subscriber_id: id,
        state: State::Sent,
        detail: "250 ok".into(),
        message_id: None,
    }
}

#[test]
fn duplicates_are_refused_without_regard_to_case() {
    let (_dir, ledger) = ledger();
    ledger
        .add_subscriber("ada@example.org", Some("Ada"))
        .unwrap();
    let err = ledger.add_subscriber("ADA@example.org", None).unwrap_err();
    assert!(err.to_string().contains("already subscribed"), "{err}");
}

#[test]
fn tokens_are_random_and_distinct() {
    let (_dir, ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    let b = ledger.add_subscriber("b@example.org", None).unwrap();
    assert_eq!(a.token.len(), 32);
    assert_ne!(a.token, b.token);
}

#[test]
fn a_delivery_goes_pending_then_sent_and_is_not_offered_again() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    let b = ledger.add_subscriber("b@example.org", None).unwrap();
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 2);
    ledger.mark_pending("p", &[a.id]).unwrap();
    let left: Vec<_> = ledger
        .undelivered("p", 0, 10)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [b.id]);
    ledger.record(&[sent("p", a.id)]).unwrap();
    assert_eq!(ledger.status().unwrap()[0].sent, 1);
    assert!(ledger.unknown(None).unwrap().is_empty());
}

#[test]
fn pending_rows_survive_a_crash_as_unknown_and_are_not_offered_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let id = {
        let mut ledger = Ledger::open(&path).unwrap();
        let a = ledger.add_subscriber("a@example.org", None).unwrap();
        ledger.mark_pending("p", &[a.id]).unwrap();
        a.id
        // Dropped without recording: as if the process died mid-send.
    };
    let mut ledger = Ledger::open(&path).unwrap();
    let unknown = ledger.unknown(Some("p")).unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].1.id, id);
    assert!(ledger.undelivered("p", 0, 10).unwrap().is_empty());
    assert_eq!(ledger.reset_unknown("p").unwrap(), 1);
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
}

#[test]
fn released_rows_are_offered_again_and_settled_rows_never_change() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    ledger.mark_pending("p", &[a.id]).unwrap();
    ledger.release("p", &[a.id]).unwrap();
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
    ledger.mark_pending("p", &[a.id]).unwrap();
    ledger.record(&[sent("p", a.id)]).unwrap();
    ledger.release("p", &[a.id]).unwrap();
    let mut failed = sent("p", a.id);
    failed.state = State::Failed;
    ledger.record(&[failed]).unwrap();
    assert_eq!(ledger.status().unwrap()[0].sent, 1, "a sent row stays sent");
}

#[test]
fn someone_who_subscribes_after_a_mailing_starts_gets_the_next_post_not_that_one() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    ledger.mark_pending("old", &[a.id]).unwrap();
    ledger.record(&[sent("old", a.id)]).unwrap();
    std::thread::sleep(Duration::from_millis(2));
    let late = ledger.add_subscriber("late@example.org", None).unwrap();
    assert!(ledger.undelivered("old", 0, 10).unwrap().is_empty());
    let next: Vec<_> = ledger
        .undelivered("new", 0, 10)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(next, [a.id, late.id]);
}

#[test]
fn mark_sent_covers_every_active_subscriber_once() {
    let (_dir, mut ledger) = ledger();
    ledger.add_subscriber("a@example.org", None).unwrap();
    ledger.add_subscriber("b@example.org", None).unwrap();
    ledger
        .set_status("b@example.org", SubscriberStatus::Bounced)
        .unwrap();
    assert_eq!(ledger.mark_post_sent("p").unwrap(), 1);
    assert_eq!(ledger.mark_post_sent("p").unwrap(), 0);
    assert_eq!(ledger.posts_with_deliveries().unwrap(), ["p"]);
}

#[test]
fn removing_a_subscriber_keeps_their_rows_and_forgetting_deletes_them() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    ledger.mark_pending("p", &[a.id]).unwrap();
    assert_eq!(
        ledger.remove_subscriber("a@example.org").unwrap(),
        SubscriberStatus::Active
    );
    assert_eq!(ledger.unknown(None).unwrap().len(), 1, "history is kept");
    assert!(ledger.undelivered("q", 0, 10).unwrap().is_empty());
    ledger.forget_subscriber("a@example.org").unwrap();
    assert!(ledger.unknown(None).unwrap().is_empty());
    assert!(ledger.subscribers(None).unwrap().is_empty());
    assert!(ledger.forget_subscriber("a@example.org").is_err());
}

#[test]
fn someone_who_comes_back_gets_posts_from_then_on_not_those_they_missed() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    let b = ledger.add_subscriber("b@example.org", None).unwrap();
    ledger.remove_subscriber("b@example.org").unwrap();
    ledger.mark_pending("while-away", &[a.id]).unwrap();
    ledger.record(&[sent("while-away", a.id)]).unwrap();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(
        ledger
            .set_status("b@example.org", SubscriberStatus::Active)
            .unwrap(),
        SubscriberStatus::Unsubscribed
    );
    assert!(ledger.undelivered("while-away", 0, 10).unwrap().is_empty());
    let next: Vec<i64> = ledger
        .undelivered("next", 0, 10)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(next, [a.id, b.id]);
}

#[test]
fn a_second_ledger_cannot_change_deliveries_while_one_is_sending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.db");
    let mut sending = Ledger::open(&path).unwrap();
    let a = sending.add_subscriber("a@example.org", None).unwrap();
    sending.mark_pending("p", &[a.id]).unwrap();
    let mut other = Ledger::open(&path).unwrap();
    assert!(other.send_running().unwrap());
    let err = other.reset_unknown("p").unwrap_err().to_string();
    assert!(err.contains("another `herald send`"), "{err}");
    assert_eq!(other.unknown(None).unwrap().len(), 1, "nothing was reset");
    drop(sending);
    assert!(!other.send_running().unwrap());
    assert_eq!(other.reset_unknown("p").unwrap(), 1);
}

#[test]
fn a_version_1_ledger_is_upgraded_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "INSERT INTO subscribers (email, status, token, created, updated)
             VALUES ('old@example.org', 'active', 't', '2020-01-01T00:00:00.000000Z', '2020-01-01T00:00:00.000000Z');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let ledger = Ledger::open(&path).unwrap();
    let version: i64 = ledger
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
}

#[test]
fn a_ledger_from_a_newer_herald_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = Ledger::open(&path).err().unwrap().to_string();
    assert!(err.contains("newer herald"), "{err}");
}

#[test]
fn a_mailing_found_complete_opens_again_when_a_row_is_released() {
    let (_dir, mut ledger) = ledger();
    let a = ledger.add_subscriber("a@example.org", None).unwrap();
    ledger.mark_pending("p", &[a.id]).unwrap();
    // A full scan finds nobody owed: the mailing is marked complete.
    assert!(ledger.undelivered("p", 0, 10).unwrap().is_empty());
    assert!(ledger.complete("p").unwrap());
    // The server never got it (connection refused): the row goes, and is owed again.
    ledger.release("p", &[a.id]).unwrap();
    assert!(!ledger.complete("p").unwrap());
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
}
