//! The ledger's file: opened for writing (created 0600 when missing) or for
//! reading only, guarded by the history marker, and copied by `backup`.
//!
//! The history marker (`herald.db.history`, beside the database) is written
//! when a send first changes delivery state, and names the ledger by the
//! random id stored inside it. A ledger that is missing, empty (a failed
//! copy truncates to 0 bytes) or another file while the marker says this
//! site has mailed from one is an error, never a fresh start: a new empty
//! ledger plus a re-imported list would mail every post to everyone again.
//! The marker is a separate file because the one thing it must survive is
//! the loss of the database file.
//!
//! Read-only commands (`status`, `subscribers list` and `export`, `backup`)
//! open the file read-only, so they work on a read-only file system and
//! never create a ledger where there is none.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Ledger, MIGRATIONS, db_error};
use crate::error::{Error, Result};
use crate::private;

/// How long a command waits for another one's write transaction, in 1 ms
/// steps. Writers hold the database for a batch at a time (an import
/// commits every `subscribers::CHUNK` rows), far below this.
const BUSY_TIMEOUT_MS: i32 = 30_000;

/// Polls every millisecond. SQLite's own busy timeout backs off to 100 ms
/// sleeps, and a writer that commits and begins again within a millisecond
/// (an import between chunks) would keep a waiting `send` out until it
/// gave up with "database is locked".
fn wait_a_moment(attempts: i32) -> bool {
    if attempts >= BUSY_TIMEOUT_MS {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

impl Ledger {
    /// Opens the ledger at `path` for reading and writing, creating it (and
    /// its folder) if needed, unless the history marker says it must exist.
    pub fn open(path: &Path) -> Result<Ledger> {
        check_present(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            private::create_ignored_dir(parent).map_err(|e| unwritable(path, e))?;
        }
        // Created 0600 before SQLite sees it: SQLite gives the -wal and -shm
        // files the database file's mode. Only when it is missing: closing
        // any descriptor of a file drops every POSIX lock the process holds
        // on it, SQLite's included, so opening an existing ledger here while
        // another connection of this process has it open (`serve` has two)
        // would let a third process take it for unused and delete its WAL.
        if path.exists() {
            // The folder must take SQLite's -wal and -shm files: asked of a
            // nameless file there, so a read-only disk is named as such.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            tempfile::tempfile_in(dir.unwrap_or(Path::new(".")))
                .map_err(|e| unwritable(path, e))?;
        } else {
            match private::options().create_new(true).write(true).open(path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(unwritable(path, e)),
            }
        }
        for file in [
            path.to_path_buf(),
            sibling(path, "-wal"),
            sibling(path, "-shm"),
        ] {
            private::restrict(&file)?;
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let mut ledger = Ledger::with(conn, path)?;
        ledger
            .conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(|e| ledger.error(e))?;
        ledger.migrate()?;
        ledger.check_identity()?;
        Ok(ledger)
    }

    /// Opens the ledger for reading only. A ledger that does not exist (and
    /// never mailed: see the marker) reads as an empty one, created nowhere.
    pub fn open_read_only(path: &Path) -> Result<Ledger> {
        check_present(path)?;
        if !path.exists() {
            let conn = Connection::open_in_memory().map_err(|e| db_error(path, e))?;
            let mut ledger = Ledger::with(conn, path)?;
            ledger.migrate()?;
            return Ok(ledger);
        }
        let ledger = Ledger::with(read_only_connection(path)?, path)?;
        if ledger.schema_version()? < MIGRATIONS.len() as i64 {
            // Written by an older herald: bring it up to date once, which
            // needs write access.
            drop(ledger);
            return Ledger::open(path).map_err(|e| {
                Error::Message(format!(
                    "{e}\n(the ledger was written by an older herald and must be upgraded once by a command that can write it)"
                ))
            });
        }
        ledger.check_identity()?;
        Ok(ledger)
    }

    fn with(mut conn: Connection, path: &Path) -> Result<Ledger> {
        conn.busy_handler(Some(wait_a_moment))
            .and_then(|()| conn.execute_batch("PRAGMA foreign_keys = ON;"))
            .map_err(|e| db_error(path, e))?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            sending: None,
            soft_bounce_limit: crate::config::EmailConfig::default().soft_bounce_limit,
        })
    }

    pub(super) fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.error(e))
    }

    /// The random id this ledger was given when it was created.
    pub fn id(&self) -> Result<String> {
        self.conn
            .query_row("SELECT value FROM list_meta WHERE key = 'id'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.error(e))
    }

    /// Writes the history marker, once: this ledger now holds what was mailed.
    pub(super) fn note_history(&self) -> Result<()> {
        let marker = marker_path(&self.path);
        if marker.exists() {
            return Ok(());
        }
        let text = format!(
            "# herald: this site has mailed posts; their delivery history is in {name}\n\
             # (ledger id below). If {name} is ever missing or empty, restore it from a\n\
             # backup (`herald backup`): a new empty ledger would mail everything again.\n\
             # Delete this file only to start over on purpose.\n\
             ledger {id}\nsince {since}\n",
            name = self.path.file_name().unwrap_or_default().display(),
            id = self.id()?,
            since = super::now(),
        );
        let dir = marker.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(&marker).map_err(|e| Error::Io(e.error))?;
        Ok(())
    }

    /// The marker, when there is one, must name this very ledger.
    fn check_identity(&self) -> Result<()> {
        let Some(expected) = marked_id(&self.path)? else {
            return Ok(());
        };
        let id = self.id()?;
        if id == expected {
            return Ok(());
        }
        Err(Error::Message(format!(
            "{}: this is not the ledger this site has mailed from ({} names ledger {expected}, this file is {id}). \
             Restore the right file from a backup; delete the marker only to start over on purpose \
             (every post may then be mailed again).",
            self.path.display(),
            marker_path(&self.path).display()
        )))
    }

    /// `herald backup`: a consistent copy of the live ledger through SQLite's
    /// online backup API (safe while a send runs), written to a temporary
    /// file, checked, and only then given its name, which must be new.
    pub fn backup(&self, to: &Path) -> Result<()> {
        if to.exists() {
            return Err(Error::Usage(format!(
                "{} already exists; name a new file",
                to.display()
            )));
        }
        let dir = to.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        private::create_dir(dir)?;
        // tempfile creates 0600.
        let temp = tempfile::Builder::new()
            .prefix(".herald-backup")
            .tempfile_in(dir)?;
        let failed =
            |e: rusqlite::Error| Error::Message(format!("{}: backup failed: {e}", to.display()));
        {
            let mut copy = Connection::open(temp.path()).map_err(failed)?;
            rusqlite::backup::Backup::new(&self.conn, &mut copy)
                .and_then(|b| b.run_to_completion(256, Duration::from_millis(5), None))
                .map_err(failed)?;
            let check: String = copy
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(failed)?;
            if check != "ok" {
                return Err(Error::Message(format!(
                    "{}: the copy does not check out ({check}); nothing written",
                    to.display()
                )));
            }
            copy.execute_batch("PRAGMA journal_mode = DELETE;")
                .map_err(failed)?;
        }
        temp.as_file().sync_all()?;
        temp.persist_noclobber(to).map_err(|e| Error::Io(e.error))?;
        Ok(())
    }
}

/// Opens the file read-only. WAL readers need the `-shm` index; on a
/// read-only file system where no writer left one, the file is read as
/// immutable, which is what it is there.
fn read_only_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let readable = Connection::open_with_flags(path, flags).and_then(|conn| {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(conn)
    });
    let first = match readable {
        Ok(conn) => return Ok(conn),
        Err(e) => e,
    };
    let wal = sibling(path, "-wal");
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        return Err(read_only_error(path, &first));
    }
    let uri = immutable_uri(path).ok_or_else(|| read_only_error(path, &first))?;
    Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
        .and_then(|conn| {
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
            Ok(conn)
        })
        .map_err(|_| read_only_error(path, &first))
}

fn read_only_error(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Message(format!(
        "{}: cannot read the delivery ledger: {e} (check that the file and its folder are readable)",
        path.display()
    ))
}

/// `file:///abs/path?immutable=1`, the path percent-encoded.
fn immutable_uri(path: &Path) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    let mut url = url::Url::from_file_path(absolute).ok()?;
    url.set_query(Some("immutable=1"));
    Some(url.to_string())
}

/// A missing or empty ledger is only fine where nothing was ever mailed.
fn check_present(path: &Path) -> Result<()> {
    let empty = match std::fs::metadata(path) {
        Ok(meta) => meta.len() == 0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(Error::Message(format!("{}: {e}", path.display()))),
    };
    if !empty || marked_id(path)?.is_none() {
        return Ok(());
    }
    Err(Error::Message(format!(
        "{}: the delivery ledger is missing or empty, but this site has mailed from it before ({} says so). \
         Restore it from a backup (see README, \"Backups\"); starting a new one would mail every post again \
         to everyone on a re-imported list. Delete the marker only to start over on purpose.",
        path.display(),
        marker_path(path).display()
    )))
}

/// The ledger id the marker names, if there is a marker.
fn marked_id(db: &Path) -> Result<Option<String>> {
    let marker = marker_path(db);
    let text = match std::fs::read_to_string(&marker) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Message(format!("{}: {e}", marker.display()))),
    };
    let id = text
        .lines()
        .find_map(|line| line.strip_prefix("ledger "))
        .map(|id| id.trim().to_string());
    // A marker whose id line was lost still says that mail went out.
    Ok(Some(id.unwrap_or_default()))
}

pub(super) fn marker_path(db: &Path) -> PathBuf {
    sibling(db, ".history")
}

/// `herald.db` + `suffix`, beside it.
pub(super) fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    db.with_file_name(name)
}

fn unwritable(path: &Path, e: std::io::Error) -> Error {
    Error::Message(format!(
        "{}: cannot write the delivery ledger: {e} (commands that only read it, such as `status`, \
         `subscribers list` and `export`, still work)",
        path.display()
    ))
}
