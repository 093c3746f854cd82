//! Rendered posts kept between builds, so that a build renders only the
//! posts that changed: rendering (Liquid, Markdown, the sanitiser) is most
//! of a build's time, and most builds follow a small edit.
//!
//! The cache is a SQLite file beside the ledger (`.herald/render-cache.db`
//! by default), keyed by a SHA-256 of everything a post's rendering
//! depends on: this herald binary, the configuration and includes, the
//! post's own front matter and text, and every post's path and URL when it
//! links to other posts (`post_url`, `link`, `ref`, `@/`): so a new post
//! is rendered alone, and only the posts that link look again. A post
//! whose Liquid reads `site.posts` depends on every other post's text and
//! is never cached. A post whose rendering warned is kept with its
//! warnings, which are told again at each build that takes it from the
//! cache. The file only ever speeds a build up: if it
//! cannot be opened or written (a read-only checkout, another build holding
//! it, a damaged file), the build renders everything, as without it.
//!
//! Each build keeps exactly the posts it used, so the file holds one
//! build's worth of rendered posts; a hit writes nothing to the file.
//!
//! It also records each feed file it wrote: a digest of everything the
//! file's bytes depend on (the shared hash above, the feed's own metadata,
//! and each entry's key and date), with the file's size and time of change.
//! When every post of a feed is in the cache and that digest is unchanged,
//! and the file on disk is still the one written, the feed is not made
//! again: an unchanged full archive is not re-escaped and compared byte for
//! byte, gigabytes of it.
//!
//! For the site's feeds it also records where each post's entry lies in
//! the file. An entry's bytes depend only on its post's key, its date and
//! the format, so when a feed must be made again (a post was edited), the
//! other posts' entries are copied from the site feed in place, if that
//! file is still the one recorded, instead of read from the cache and
//! escaped again: a full archive's site feed holds every post.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, TryLockError};

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::config::FeedFormat;
use crate::content::{Content, Rendered, Renderer};
use crate::error::Problem;
use crate::feed::Channel;
use crate::held::Held;
use crate::post::{Body, Post};
use crate::site::Site;

/// A SHA-256.
pub type Key = [u8; 32];

/// The file name, in the folder of the ledger.
const FILE: &str = "render-cache.db";
/// The layout of the file's tables; a file of another layout is emptied.
const LAYOUT: i64 = 4;
/// Bytes per page of the file: a real-sized post's rendering fits in one.
const PAGE_SIZE: i64 = 64 * 1024;

pub struct RenderCache {
    conn: Mutex<Connection>,
    /// Renderings left by threads that found the file busy, for the thread
    /// writing to take along: a rendering thread never waits for another's
    /// write while there is room here.
    waiting: Mutex<Vec<Row>>,
    /// The hash of what every post's rendering shares (see [`Renderer::digest`]).
    site: [u8; 32],
    /// The hash of every post's path and URL (see [`Renderer::post_list_digest`]).
    post_list: [u8; 32],
    /// Each post's key, by index (`None`: not needed, or never cached).
    keys: Vec<Option<Key>>,
    /// Whether the file holds each post's rendering, by index.
    held: Vec<bool>,
    /// The warnings kept with the held posts that have any.
    warned: HashMap<Key, Vec<Problem>>,
    /// The site's folder as this run spells it (`-C blog`, `-C /home/me/blog`):
    /// left out of what is recorded, so every spelling finds the same rows.
    root: PathBuf,
}

/// Where a feed file made by this build holds its posts' entries:
/// (post index, offset, length), for [`RenderCache::record_feeds`].
pub struct Placed {
    pub path: PathBuf,
    pub format: FeedFormat,
    pub spans: Vec<(usize, u64, usize)>,
}

/// Where a recorded feed file holds each entry, by entry key: (offset, length).
type Spans = HashMap<Key, (u64, usize)>;

/// Where a site's cache is.
pub fn path(site: &Site) -> PathBuf {
    site.path(&site.config.email.state).with_file_name(FILE)
}

impl RenderCache {
    /// Opens (or makes) the cache of `site`, or `None` when it cannot be
    /// used; the build then renders every post.
    pub fn open(site: &Site, renderer: &Renderer<'_>) -> Option<RenderCache> {
        let file = path(site);
        let conn = match connect(&file) {
            Err(e) if damaged(&e) => {
                // Made again: it only ever held what a build can render.
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let mut name = file.clone().into_os_string();
                    name.push(suffix);
                    let _ = std::fs::remove_file(name);
                }
                connect(&file)
            }
            other => other,
        }
        .ok()?;
        // One transaction for the whole build: one sync at the end, and a
        // build that fails leaves the cache as it was.
        conn.execute_batch("BEGIN IMMEDIATE").ok()?;
        let mut hasher = Sha256::new();
        hasher.update(concat!("herald ", env!("CARGO_PKG_VERSION"), "\0"));
        hasher.update(binary_identity());
        renderer.digest(&mut hasher);
        let mut post_list = Sha256::new();
        renderer.post_list_digest(&mut post_list);
        Some(RenderCache {
            conn: Mutex::new(conn),
            waiting: Mutex::new(Vec::new()),
            site: hasher.finalize().into(),
            post_list: post_list.finalize().into(),
            keys: Vec::new(),
            held: Vec::new(),
            warned: HashMap::new(),
            root: site.root.clone(),
        })
    }

    /// Works out the keys of the `needed` posts (reading their text, in
    /// parallel) and which of them the file holds.
    pub fn look_up(&mut self, renderer: &Renderer<'_>, posts: &[Post], needed: &BTreeSet<usize>) {
        let found: Vec<(usize, Option<Key>)> = needed
            .par_iter()
            .map(|&i| (i, self.key_of(renderer, &posts[i])))
            .collect();
        self.keys = vec![None; posts.len()];
        for (i, key) in found {
            self.keys[i] = key;
        }
        self.look_up_held();
    }

    /// Finds again which posts the file holds (after a build added some),
    /// and the warnings kept with them.
    pub fn look_up_held(&mut self) {
        let mut stored = HashSet::new();
        self.warned.clear();
        {
            let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            self.write_waiting(&conn);
            let rows = conn
                .prepare("SELECT key, warnings FROM rendered")
                .and_then(|mut select| {
                    select
                        .query_map([], |row| {
                            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()
                });
            for (key, warnings) in rows.unwrap_or_default() {
                let Ok(key) = Key::try_from(key) else {
                    continue;
                };
                if warnings != "[]" {
                    match warnings_from(&warnings) {
                        Some(list) => self.warned.insert(key, list),
                        None => continue,
                    };
                }
                stored.insert(key);
            }
        }
        self.held = self
            .keys
            .iter()
            .map(|key| key.is_some_and(|key| stored.contains(&key)))
            .collect();
    }

    /// The digest of `channel`'s file in `format`, its entries dated
    /// `dates`: `None` unless the cache holds every one of its posts.
    pub fn feed_digest(
        &self,
        channel: &Channel<'_>,
        format: FeedFormat,
        dates: &[DateTime<FixedOffset>],
    ) -> Option<Key> {
        let mut hasher = Sha256::new();
        hasher.update(self.site);
        hasher.update(format!(
            "{format:?}\0{:?}\0{:?}\0{:?}\0{:?}\0",
            channel.title, channel.description, channel.dir, channel.term
        ));
        for &i in &channel.posts {
            if !self.held.get(i).copied().unwrap_or(false) {
                return None;
            }
            hasher.update(self.keys[i]?);
            date_digest(&mut hasher, &dates[i]);
        }
        Some(hasher.finalize().into())
    }

    /// What post `i`'s entry in `format` depends on (the shared hash is in
    /// its key): the same key, the same bytes, in whichever feed.
    fn entry_key(
        &self,
        i: usize,
        format: FeedFormat,
        dates: &[DateTime<FixedOffset>],
    ) -> Option<Key> {
        let mut hasher = Sha256::new();
        hasher.update(self.keys.get(i).copied().flatten()?);
        hasher.update(format!("{format:?}\0"));
        date_digest(&mut hasher, dates.get(i)?);
        Some(hasher.finalize().into())
    }

    /// The entries of those `posts` that the feed files in place hold in
    /// every format (`files`: one file per format, in the build's order of
    /// formats), as parts of those files: each file must still be the one
    /// this cache recorded (its size and time), and each post held by the
    /// cache, whose row then need not be read.
    pub fn entries_in_place(
        &self,
        files: &[(PathBuf, FeedFormat)],
        posts: &BTreeSet<usize>,
        dates: &[DateTime<FixedOffset>],
    ) -> Vec<(usize, Vec<Held>)> {
        if posts.is_empty() {
            return Vec::new();
        }
        let Some(places) = files
            .iter()
            .map(|(path, _)| self.placed(path))
            .collect::<Option<Vec<_>>>()
        else {
            return Vec::new();
        };
        posts
            .iter()
            .filter(|&&i| self.held.get(i).copied().unwrap_or(false))
            .filter_map(|&i| {
                let held = files
                    .iter()
                    .zip(&places)
                    .map(|((_, format), (file, spans))| {
                        let &(offset, len) = spans.get(&self.entry_key(i, *format, dates)?)?;
                        Some(Held::InFile {
                            file: file.clone(),
                            offset,
                            len,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some((i, held))
            })
            .collect()
    }

    /// The file at `path`, open, with where its entries lie by entry key,
    /// if it is still the file this cache recorded. The file stays open, so
    /// a new feed renamed into its place does not change what is read.
    fn placed(&self, path: &Path) -> Option<(Arc<File>, Spans)> {
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok().filter(|m| m.is_file())?;
        let stamp = stamp_of(&meta)?;
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let recorded: String = conn
            .query_row(
                "SELECT stamp FROM feeds WHERE path = ?1",
                [self.path_text(path)],
                |row| row.get(0),
            )
            .ok()?;
        if recorded != stamp {
            return None;
        }
        let rows = conn
            .prepare("SELECT entry, offset, len FROM entries WHERE path = ?1")
            .and_then(|mut select| {
                select
                    .query_map([self.path_text(path)], |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .ok()?;
        let spans = rows
            .into_iter()
            .filter_map(|(entry, offset, len)| {
                let (offset, len) = (u64::try_from(offset).ok()?, u64::try_from(len).ok()?);
                // A span past the file's end is a row not to be trusted.
                if offset.checked_add(len)? > meta.len() {
                    return None;
                }
                Some((
                    Key::try_from(entry).ok()?,
                    (offset, usize::try_from(len).ok()?),
                ))
            })
            .collect();
        Some((Arc::new(file), spans))
    }

    /// Whether the file at `path` is the one this cache recorded for
    /// `digest`: same digest, and the file's size and time unchanged.
    pub fn feed_unchanged(&self, path: &Path, digest: &Key) -> bool {
        let Some(now) = file_stamp(path) else {
            return false;
        };
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached("SELECT 1 FROM feeds WHERE path = ?1 AND digest = ?2 AND stamp = ?3")
            .and_then(|mut select| select.exists(params![self.path_text(path), &digest[..], now]))
            .unwrap_or(false)
    }

    /// Keeps the `posts` of feeds not made again (no other feed needs them),
    /// and gives the warnings kept with them, by post, to be told again.
    pub fn keep(&self, posts: &BTreeSet<usize>) -> Vec<(usize, Vec<Problem>)> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut told = Vec::new();
        for &i in posts {
            if let Some(key) = self.keys.get(i).copied().flatten() {
                let _ = use_key(&conn, &key);
                if let Some(warnings) = self.warned.get(&key) {
                    told.push((i, warnings.clone()));
                }
            }
        }
        told
    }

    /// Records this build's feed files (once they are in place) and
    /// forgets any other, with where the `placed` files hold their entries
    /// (a recorded file not made again keeps what was recorded of it). A
    /// file without a digest (some post of it is not cached) is never taken
    /// as unchanged, but its entries may still be copied.
    pub fn record_feeds(
        &self,
        feeds: &[(PathBuf, Option<Key>)],
        placed: &[Placed],
        dates: &[DateTime<FixedOffset>],
    ) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let _ = conn.execute("DELETE FROM feeds", []);
        let mut recorded = HashSet::new();
        for (path, digest) in feeds {
            if let Some(stamp) = file_stamp(path) {
                let inserted = conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO feeds (path, digest, stamp) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![
                            self.path_text(path),
                            digest.as_ref().map(|d| &d[..]),
                            stamp
                        ])
                    });
                if inserted.is_ok() {
                    recorded.insert(path);
                }
            }
        }
        let _ = conn.execute(
            "DELETE FROM entries WHERE path NOT IN (SELECT path FROM feeds)",
            [],
        );
        for Placed {
            path,
            format,
            spans,
        } in placed.iter().filter(|p| recorded.contains(&p.path))
        {
            let _ = conn.execute(
                "DELETE FROM entries WHERE path = ?1",
                [self.path_text(path)],
            );
            for &(i, offset, len) in spans {
                let (Some(entry), Ok(offset), Ok(len)) = (
                    self.entry_key(i, *format, dates),
                    i64::try_from(offset),
                    i64::try_from(len),
                ) else {
                    continue;
                };
                let _ = conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO entries (path, entry, offset, len) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![self.path_text(path), &entry[..], offset, len])
                    });
            }
        }
    }

    /// Renders post `i`, or takes its rendering from the cache, under the
    /// key [`RenderCache::look_up`] found for it.
    pub fn render(
        &self,
        renderer: &Renderer<'_>,
        i: usize,
        post: &Post,
    ) -> Result<Rendered, Vec<Problem>> {
        let Some(key) = self.keys.get(i).copied().flatten() else {
            return renderer.render(post);
        };
        if let Some(rendered) = self.get(&key) {
            return Ok(rendered);
        }
        let rendered = renderer.render(post)?;
        self.put(&key, &rendered);
        Ok(rendered)
    }

    /// A post's key; `None` for a post never cached (it reads other
    /// posts' text) or whose text cannot be read (its rendering says why).
    fn key_of(&self, renderer: &Renderer<'_>, post: &Post) -> Option<Key> {
        let body = post.body().ok()?;
        if renderer.reads_other_posts(&body) {
            return None;
        }
        Some(self.key(post, &body, renderer.links_to_posts(&body)))
    }

    /// A feed file's path as recorded: from the site's folder.
    fn path_text(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// Drops the rows this build did not use and keeps the rest.
    pub fn finish(self) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        self.write_waiting(&conn);
        let kept = conn.execute_batch(
            "DELETE FROM rendered WHERE key NOT IN (SELECT key FROM temp.used); COMMIT",
        );
        if kept.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }

    fn key(&self, post: &Post, body: &str, links_to_posts: bool) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.site);
        if links_to_posts {
            hasher.update(self.post_list);
        }
        let mut described = format!("{post:?}");
        if let Body::InFile { file, .. } = &post.body {
            // Where the body is read from names the site's folder as this
            // run spells it; the body's text is hashed below anyway.
            described = described.replacen(&format!("{file:?}"), "", 1);
        }
        hasher.update(described);
        hasher.update(body);
        hasher.finalize().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Rendered> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let (html, excerpt, warnings): (String, String, String) = conn
            .prepare_cached("SELECT html, excerpt, warnings FROM rendered WHERE key = ?1")
            .and_then(|mut select| {
                select
                    .query_row([&key[..]], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .optional()
            })
            .ok()
            .flatten()?;
        let warnings = warnings_from(&warnings)?;
        use_key(&conn, key).ok()?;
        Some(Rendered {
            content: Content { html, excerpt },
            warnings,
        })
    }

    fn put(&self, key: &[u8; 32], rendered: &Rendered) {
        let Some(warnings) = warnings_text(&rendered.warnings) else {
            return;
        };
        let content = &rendered.content;
        let conn = match self.conn.try_lock() {
            Ok(conn) => conn,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                if waiting.len() < WAITING {
                    waiting.push(Row {
                        key: *key,
                        warnings,
                        html: content.html.clone(),
                        excerpt: content.excerpt.clone(),
                    });
                    return;
                }
                drop(waiting);
                self.conn.lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        insert(&conn, key, &warnings, &content.html, &content.excerpt);
        self.write_waiting(&conn);
    }

    /// Writes the renderings other threads left while `conn` was busy.
    fn write_waiting(&self, conn: &Connection) {
        loop {
            let rows = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()));
            if rows.is_empty() {
                return;
            }
            for row in rows {
                insert(conn, &row.key, &row.warnings, &row.html, &row.excerpt);
            }
        }
    }
}

/// Renderings waiting for the file, at most: past it a thread waits its turn.
const WAITING: usize = 32;

/// A rendering on its way to the file.
struct Row {
    key: Key,
    warnings: String,
    html: String,
    excerpt: String,
}

/// Keeps one rendering, and marks it this build's. A row that cannot be
/// written is a post rendered again next time.
fn insert(conn: &Connection, key: &Key, warnings: &str, html: &str, excerpt: &str) {
    let _ = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO rendered (key, html, excerpt, warnings) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut insert| insert.execute(params![&key[..], html, excerpt, warnings]))
        .and_then(|_| use_key(conn, key));
}

/// Warnings as kept in a row: a JSON list of [file, line, message]; `None`
/// for a file name that is not UTF-8 (that post is not kept).
fn warnings_text(warnings: &[Problem]) -> Option<String> {
    let list = warnings
        .iter()
        .map(|w| Some((w.path.to_str()?, w.line, &w.message)))
        .collect::<Option<Vec<_>>>()?;
    serde_json::to_string(&list).ok()
}

fn warnings_from(text: &str) -> Option<Vec<Problem>> {
    let list: Vec<(String, Option<usize>, String)> = serde_json::from_str(text).ok()?;
    Some(
        list.into_iter()
            .map(|(path, line, message)| Problem::new(path, line, message))
            .collect(),
    )
}

/// Marks a row as this build's, to be kept: in a table of this connection's
/// own, in memory, so a cache hit writes nothing to the file.
fn use_key(conn: &Connection, key: &[u8; 32]) -> rusqlite::Result<usize> {
    conn.prepare_cached("INSERT OR IGNORE INTO temp.used (key) VALUES (?1)")?
        .execute([&key[..]])
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        // The ledger's folder, made as the ledger makes it: private, ignored by git.
        crate::private::create_ignored_dir(dir)
            .map_err(|_| rusqlite::Error::InvalidPath(dir.into()))?;
    }
    let conn = Connection::open(path)?;
    // Another build holding the file means this one goes without it.
    conn.busy_timeout(std::time::Duration::ZERO)?;
    // A row is a post's rendering (13 KB for a real-sized post): with
    // SQLite's 4 KB pages each spans a chain of overflow pages. The page
    // size only takes on a new file, or at the VACUUM below.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    // A rollback journal, not WAL: a build writes a few rows, or (the first
    // build) every rendering at once, where WAL writes everything twice (the
    // log, then the checkpoint). FULL, since a cache read back wrong after a
    // power cut would put wrong content in a feed.
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let layout: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if layout != LAYOUT {
        // Another herald's file: what it holds is only ever a rendering to redo.
        conn.execute_batch(
            "DROP TABLE IF EXISTS rendered; DROP TABLE IF EXISTS feeds; DROP TABLE IF EXISTS entries;",
        )?;
        conn.pragma_update(None, "user_version", LAYOUT)?;
        conn.execute_batch("VACUUM")?;
    }
    // The rendering last in its row: a scan for keys and warnings
    // (`look_up_held`) then reads no overflow page.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS rendered (
             key BLOB PRIMARY KEY,
             warnings TEXT NOT NULL,
             excerpt TEXT NOT NULL,
             html TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS feeds (
             path TEXT PRIMARY KEY,
             digest BLOB,
             stamp TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS entries (
             path TEXT NOT NULL,
             entry BLOB NOT NULL,
             offset INTEGER NOT NULL,
             len INTEGER NOT NULL,
             PRIMARY KEY (path, entry)
         );
         CREATE TEMP TABLE used (key BLOB PRIMARY KEY);",
    )?;
    Ok(conn)
}

/// A file's size and time of last change, as recorded.
fn file_stamp(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    stamp_of(&meta)
}

fn stamp_of(meta: &std::fs::Metadata) -> Option<String> {
    Some(format!("{} {:?}", meta.len(), meta.modified().ok()?))
}

/// An entry's date as its bytes depend on it: the instant and the offset.
fn date_digest(hasher: &mut Sha256, date: &DateTime<FixedOffset>) {
    hasher.update(date.timestamp().to_le_bytes());
    hasher.update(date.offset().local_minus_utc().to_le_bytes());
}

fn damaged(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// This herald binary, as its size and time of change: a rebuilt herald
/// may render differently under the same version number.
fn binary_identity() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
        .unwrap_or_default()
}
