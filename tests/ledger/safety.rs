//! The ledger file is never lost, replaced, leaked or locked out: the
//! history marker, backups and restoring, file modes, read-only commands on
//! a read-only file system, a large import beside other writers, and the
//! `.gitignore` that `init` keeps.

use std::process::Stdio;

use super::TestSite;
use predicates::prelude::*;

const DB: &str = ".herald/herald.db";

/// A site whose one post went out (recorded with `--mark-sent`, which is a
/// send as far as the ledger is concerned) to one reader.
fn mailed_site() -> TestSite {
    let site = TestSite::new();
    site.herald(&["subscribers", "add", "ada@blog.test"])
        .success();
    site.herald(&["send", "--mark-sent"]).success();
    assert!(site.path(".herald/herald.db.history").exists());
    site
}

fn remove_wal(site: &TestSite) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(site.path(&format!("{DB}{suffix}")));
    }
}

#[test]
fn a_ledger_truncated_or_deleted_after_a_send_is_an_error_not_a_fresh_start() {
    let site = mailed_site();
    site.herald(&["backup", "saved.db"])
        .success()
        .stdout(predicate::str::contains("saved.db"));

    std::fs::write(site.path(DB), "").unwrap();
    remove_wal(&site);
    for args in [
        &["status"][..],
        &["subscribers", "list"],
        &["subscribers", "add", "bob@blog.test"],
        &["send"],
    ] {
        site.herald(args)
            .code(1)
            .stderr(predicate::str::contains("missing or empty"))
            .stderr(predicate::str::contains("herald.db.history"));
    }
    assert_eq!(
        std::fs::metadata(site.path(DB)).unwrap().len(),
        0,
        "left as it was"
    );

    std::fs::remove_file(site.path(DB)).unwrap();
    site.herald(&["subscribers", "import", &super::fixture("plain-list.csv")])
        .code(1)
        .stderr(predicate::str::contains("missing or empty"));
    assert!(!site.path(DB).exists(), "no new ledger was made");

    // Another site's ledger in its place is not this site's history.
    let other = mailed_site();
    std::fs::copy(other.path(DB), site.path(DB)).unwrap();
    site.herald(&["status"])
        .code(1)
        .stderr(predicate::str::contains(
            "not the ledger this site has mailed from",
        ));

    // Restoring the backup as README says brings the history back.
    remove_wal(&site);
    std::fs::copy(site.path("saved.db"), site.path(DB)).unwrap();
    site.herald(&["status"]).success();
    site.herald(&["send"]).success();
    let history = site.ledger().status(None).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].sent, 1);
    assert!(!site.path("outbox").exists(), "nobody was mailed again");
}

#[test]
fn a_backup_taken_while_another_connection_writes_is_whole_and_checked() {
    let site = mailed_site();
    let writer = site.ledger();
    writer.add_subscriber("bob@blog.test", None).unwrap();
    site.herald(&["backup"]).success();
    let backups: Vec<_> = std::fs::read_dir(site.path(".herald/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert_eq!(backups.len(), 1);
    let copy = herald::ledger::Ledger::open_read_only(&backups[0]).unwrap();
    assert_eq!(copy.subscribers(None).unwrap().len(), 2);
    assert_eq!(copy.id().unwrap(), writer.id().unwrap());
    site.herald(&["backup", backups[0].to_str().unwrap()])
        .code(2)
        .stderr(predicate::str::contains("already exists"));
}

#[cfg(unix)]
#[test]
fn personal_data_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let site = mailed_site();
    site.herald(&["subscribers", "export", "list.csv"])
        .success();
    site.herald(&["backup", "copy.db"]).success();
    // Held open, so the WAL files are there to look at.
    let _open = site.ledger();
    let mode = |name: &str| {
        std::fs::metadata(site.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(".herald"), 0o700);
    for file in [
        DB,
        ".herald/herald.db-wal",
        ".herald/herald.db-shm",
        ".herald/herald.db.lock",
        ".herald/herald.db.history",
        "list.csv",
        "copy.db",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    let ignore = std::fs::read_to_string(site.path(".herald/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");

    // A ledger an older herald left world-readable is tightened.
    drop(_open);
    std::fs::set_permissions(site.path(DB), std::fs::Permissions::from_mode(0o644)).unwrap();
    site.herald(&["subscribers", "add", "bob@blog.test"])
        .success();
    assert_eq!(mode(DB), 0o600);
}

#[test]
fn init_adds_the_private_folders_to_an_existing_gitignore_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let ignore = dir.path().join(".gitignore");
    std::fs::write(&ignore, "node_modules\n/public").unwrap();
    let herald = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("herald")
            .unwrap()
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .assert()
    };
    herald(&["init"])
        .success()
        .stdout(predicate::str::contains("added .herald/ outbox/ to"));
    let text = std::fs::read_to_string(&ignore).unwrap();
    assert!(text.starts_with("node_modules\n/public\n"), "{text}");
    assert!(text.lines().any(|l| l == ".herald/") && text.lines().any(|l| l == "outbox/"));

    herald(&["init", "--force"]).success();
    assert_eq!(
        std::fs::read_to_string(&ignore).unwrap(),
        text,
        "--force left it alone"
    );
}

#[test]
fn a_large_import_commits_in_chunks_so_other_writers_get_in_meanwhile() {
    let site = TestSite::new();
    let rows = 20 * herald::subscribers::CHUNK;
    let mut csv = String::from("email,name\n");
    for i in 0..rows {
        csv.push_str(&format!("reader{i}@blog.test,Reader {i}\n"));
    }
    std::fs::write(site.path("big.csv"), csv).unwrap();
    let mut import = std::process::Command::new(assert_cmd::cargo::cargo_bin("herald"))
        .arg("-C")
        .arg(site.path(""))
        .args(["subscribers", "import", "big.csv"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first chunk is in (a bound, not a timing assertion:
    // a hung import fails here instead of hanging the suite).
    let db = site.path(DB);
    let started = std::time::Instant::now();
    while count(&db) == 0 {
        assert!(
            started.elapsed().as_secs() < 120,
            "the import never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    site.herald(&["subscribers", "add", "late@blog.test"])
        .success();
    let still_importing = import.try_wait().unwrap().is_none();
    let output = import.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{rows} added, 0 already subscribed, 0 invalid\n")
    );
    // `late` went in between two chunks, not after the whole import.
    let ledger = site.ledger();
    let late = ledger.subscriber("late@blog.test").unwrap().unwrap();
    let last = ledger.subscribers(None).unwrap().last().unwrap().id;
    assert!(
        still_importing && late.id < last,
        "the add waited for the whole import (id {} of {last})",
        late.id
    );
}

fn count(db: &std::path::Path) -> usize {
    if !db.exists() {
        return 0;
    }
    herald::ledger::Ledger::open_read_only(db)
        .and_then(|l| l.subscribers(None))
        .map_or(0, |s| s.len())
}

/// Runs herald with the site folder mounted read-only, in a private mount
/// namespace (`unshare`; no privileges needed where user namespaces are on).
#[cfg(target_os = "linux")]
fn read_only(site: &TestSite, args: &str) -> Option<std::process::Output> {
    let dir = site.path("");
    let herald = assert_cmd::cargo::cargo_bin("herald");
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' || exit 99; exec '{h}' -C '{d}' {args}",
        d = dir.display(),
        h = herald.display()
    );
    let output = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .ok()?;
    (output.status.code() != Some(99)).then_some(output)
}

#[cfg(target_os = "linux")]
#[test]
fn read_only_commands_work_on_a_read_only_file_system_and_writers_say_why_not() {
    let site = mailed_site();
    site.herald(&["subscribers", "add", "Bob <bob@blog.test>"])
        .success();
    // No quiet skip: where `unshare -rm` cannot make a read-only mount, this
    // test fails and says so, rather than passing without having run.
    let list = read_only(&site, "subscribers list").expect(
        "this test needs `unshare -rm` (util-linux, user namespaces) to mount the site read-only",
    );
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{list:?}");
    assert!(
        text.contains("ada@blog.test") && text.contains("bob@blog.test\tBob"),
        "{text}"
    );
    for args in [
        "status",
        "subscribers export",
        "subscribers list bob@blog.test",
    ] {
        let out = read_only(&site, args).unwrap();
        assert!(out.status.success(), "{args}: {out:?}");
    }
    let add = read_only(&site, "subscribers add carol@blog.test").unwrap();
    let err = String::from_utf8_lossy(&add.stderr);
    assert_eq!(add.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write the delivery ledger") && err.contains("Read-only"),
        "{err}"
    );
}
