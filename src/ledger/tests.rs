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
    assert_eq!(ledger.status(None).unwrap()[0].sent, 1);
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
    assert_eq!(
        ledger.status(None).unwrap()[0].sent,
        1,
        "a sent row stays sent"
    );
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
    let me = format!(
        "another send is running (pid {}, since ",
        std::process::id()
    );
    assert!(err.contains(&me), "{err}");
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

/// Every statement the ledger runs, in its own words, as SQLite plans it:
/// collected while a whole workload runs, so a query added later is checked
/// too. A full scan of `deliveries` (millions of rows for an archive) is
/// never right; only the small index of pending rows may be walked whole.
/// `subscribers` may be scanned only by what lists or counts everyone.
#[test]
fn every_ledger_query_uses_an_index_where_one_should() {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    use rusqlite::trace::{TraceEvent, TraceEventCodes};

    let (_dir, mut ledger) = ledger();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let sink = Arc::clone(&seen);
    ledger
        .conn
        .trace_v2(
            TraceEventCodes::SQLITE_TRACE_STMT,
            Some(move |event: TraceEvent<'_>| {
                if let TraceEvent::Stmt(_, sql) = event {
                    sink.lock()
                        .unwrap()
                        .insert(sql.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }),
        )
        .unwrap();
    workload(&mut ledger);
    ledger
        .conn
        .trace_v2(TraceEventCodes::empty(), None::<fn(TraceEvent<'_>)>)
        .unwrap();

    let lists_everyone = [
        "FROM subscribers ORDER BY id",
        "FROM subscribers WHERE status = ?1 ORDER BY id",
        "GROUP BY status",
        "SELECT ?1, id, 'sent'",
        // What a started, incomplete mailing still owes: a count over its audience.
        "SELECT COUNT(*) FROM subscribers s",
    ];
    let statements = seen.lock().unwrap().clone();
    let queries: Vec<&String> = statements
        .iter()
        .filter(|sql| {
            let verb = sql.split_whitespace().next().unwrap_or("").to_uppercase();
            ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&verb.as_str())
        })
        .collect();
    assert!(
        queries.len() >= 20,
        "too few statements traced: {queries:#?}"
    );
    let mut wrong = Vec::new();
    for sql in queries {
        let mut explain = ledger
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        // Parameters unbound (NULL): the plan must not depend on their values.
        let nulls = vec![rusqlite::types::Null; explain.parameter_count()];
        let details: Vec<String> = explain
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for detail in details {
            let scanned = detail
                .strip_prefix("SCAN ")
                .and_then(|rest| rest.split_whitespace().next());
            let bad = match scanned {
                Some("deliveries" | "d") => !detail.contains("deliveries_pending"),
                Some("subscribers" | "s") => !lists_everyone.iter().any(|p| sql.contains(p)),
                _ => false,
            };
            if bad {
                wrong.push(format!("{detail}\n    in: {sql}"));
            }
        }
    }
    assert!(wrong.is_empty(), "full scans:\n{}", wrong.join("\n"));
}

/// Every public ledger operation, once.
fn workload(ledger: &mut Ledger) {
    let a = ledger.add_subscriber("a@example.org", Some("A")).unwrap();
    let b = ledger
        .insert_subscriber("b@example.org", None, SubscriberStatus::Active)
        .unwrap();
    ledger.subscriber("a@example.org").unwrap();
    ledger.subscriber_by_token(&a.token).unwrap();
    ledger.set_name("a@example.org", Some("Ada")).unwrap();
    ledger.undelivered("p", 0, 10).unwrap();
    ledger.mark_pending("p", &[a.id, b.id]).unwrap();
    ledger.record(&[sent("p", a.id)]).unwrap();
    ledger.unknown(Some("p")).unwrap();
    ledger.unknown(None).unwrap();
    ledger.release("p", &[b.id]).unwrap();
    ledger.mark_pending("p", &[b.id]).unwrap();
    ledger.reset_unknown("p").unwrap();
    ledger.mark_post_sent("q").unwrap();
    ledger.complete("q").unwrap();
    ledger.undelivered("q", 0, 10).unwrap();
    ledger.posts_with_deliveries().unwrap();
    ledger.status(None).unwrap();
    ledger.status(Some("2026-01-01T00:00:00.000000Z")).unwrap();
    ledger.owed("p").unwrap();
    ledger.start_mailing("r").unwrap();
    ledger.subscribers(None).unwrap();
    ledger.subscribers(Some(SubscriberStatus::Active)).unwrap();
    ledger.subscriber_counts().unwrap();
    let records = ledger.records().unwrap();
    ledger.remove_subscriber("b@example.org").unwrap();
    ledger
        .set_status("b@example.org", SubscriberStatus::Active)
        .unwrap();
    ledger.forget_subscriber("b@example.org").unwrap();
    let mut restored = records[1].clone();
    restored.email = "c@example.org".into();
    restored.token = "0123456789abcdef0123456789abcdef".into();
    ledger.restore(&restored).unwrap();
    ledger.id().unwrap();
    let seen = [("q".to_string(), Sighting::default(), true)];
    ledger
        .remember(&[("p".into(), "p2".into())], &seen, &["p2"])
        .unwrap();
    ledger.known_posts().unwrap();
    ledger.adopting().unwrap();
    ledger.deliveries_of("q", None).unwrap();
    ledger.deliveries_of("q", Some(&[a.id])).unwrap();
    ledger.forget_deliveries("q", Some(&[a.id])).unwrap();
    ledger.forget_deliveries("p2", None).unwrap();
    ledger.send_running().unwrap();
}

#[test]
fn the_pending_step_rebuilds_subscribers_keeping_ids_tokens_and_every_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        // A ledger as herald left it before step 7, with deliveries and
        // foreign keys on, as every connection has them.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        for step in &MIGRATIONS[..6] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO subscribers (id, email, name, status, token, created, updated, active_since)
             VALUES (7, 'a@example.org', 'A', 'active', 'tok-a', '2020-01-01T00:00:00.000000Z', '2020-01-02T00:00:00.000000Z', '2020-01-03T00:00:00.000000Z'),
                    (9, 'b@example.org', NULL, 'bounced', 'tok-b', '2020-01-01T00:00:00.000000Z', '2020-01-01T00:00:00.000000Z', '2020-01-01T00:00:00.000000Z');
             INSERT INTO deliveries (post, subscriber, state, updated) VALUES
                ('p', 7, 'sent', '2020-02-01T00:00:00.000000Z'),
                ('p', 9, 'failed', '2020-02-01T00:00:00.000000Z');
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let mut ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let records = ledger.records().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].token, "tok-a");
    assert_eq!(records[0].active_since, "2020-01-03T00:00:00.000000Z");
    assert_eq!(ledger.subscriber_by_token("tok-b").unwrap().unwrap().id, 9);
    let status = ledger.deliveries_of("p", None).unwrap();
    assert_eq!(
        (status.sent, status.failed),
        (1, 1),
        "no delivery row was lost"
    );
    // The new status is allowed, and the foreign keys are on again.
    let signup = ledger
        .sign_up("c@example.org", Some("C"), 10, chrono::Duration::hours(1))
        .unwrap();
    assert!(matches!(signup, Signup::Mail(ref s) if s.status == SubscriberStatus::Pending));
    let on: i64 = ledger
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(on, 1);
    ledger.forget_subscriber("a@example.org").unwrap();
    assert_eq!(
        ledger.deliveries_of("p", None).unwrap().sent,
        0,
        "cascade works again"
    );
}

#[test]
fn a_signup_mails_once_a_day_stays_out_of_sends_and_is_confirmed_or_pruned() {
    let (_dir, mut ledger) = ledger();
    let hour = chrono::Duration::hours(1);
    let Signup::Mail(ada) = ledger
        .sign_up("ada@example.org", Some("Ada"), 10, hour)
        .unwrap()
    else {
        panic!("the first signup mails");
    };
    assert_eq!(ada.status, SubscriberStatus::Pending);
    assert_eq!(
        ledger.sign_up("ada@example.org", None, 10, hour).unwrap(),
        Signup::TooSoon
    );
    // Pending readers are never offered a post.
    assert!(ledger.undelivered("p", 0, 10).unwrap().is_empty());
    // The mail did not go: the address may be sent another.
    ledger.confirmation_not_sent("ada@example.org").unwrap();
    assert!(matches!(
        ledger.sign_up("ada@example.org", None, 10, hour).unwrap(),
        Signup::Mail(_)
    ));
    assert_eq!(
        ledger.confirm(&ada.token, Utc::now()).unwrap(),
        Some(Confirmed::Now)
    );
    assert_eq!(
        ledger.confirm(&ada.token, Utc::now()).unwrap(),
        Some(Confirmed::Already)
    );
    assert_eq!(
        ledger.sign_up("ada@example.org", None, 10, hour).unwrap(),
        Signup::Active
    );
    assert_eq!(ledger.undelivered("p", 0, 10).unwrap().len(), 1);
    // Unsubscribed afterwards: the old link no longer brings them back.
    let issued = Utc::now() - chrono::Duration::minutes(1);
    assert!(ledger.unsubscribe_by_token(&ada.token).unwrap());
    assert_eq!(
        ledger.confirm(&ada.token, issued).unwrap(),
        Some(Confirmed::Stale)
    );
    // The site's cap, then pruning: a pending signup whose link expired goes.
    assert!(matches!(
        ledger.sign_up("bob@example.org", None, 2, hour).unwrap(),
        Signup::Mail(_)
    ));
    assert_eq!(
        ledger.sign_up("cy@example.org", None, 2, hour).unwrap(),
        Signup::OverCap
    );
    assert_eq!(ledger.prune_signups(chrono::Duration::zero()).unwrap(), 1);
    assert!(ledger.subscriber("bob@example.org").unwrap().is_none());
    assert!(ledger.subscriber("ada@example.org").unwrap().is_some());
}
