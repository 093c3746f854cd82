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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::config::FeedFormat;
use crate::content::{Content, Rendered, Renderer};
use crate::error::Problem;
use crate::feed::Channel;
use crate::post::Post;
use crate::site::Site;

/// A SHA-256.
pub type Key = [u8; 32];

/// The file name, in the folder of the ledger.
const FILE: &str = "render-cache.db";
/// The layout of the file's tables; a file of another layout is emptied.
const LAYOUT: i64 = 2;

pub struct RenderCache {
    conn: Mutex<Connection>,
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
}

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
                for suffix in ["", "-wal", "-shm"] {
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
            site: hasher.finalize().into(),
            post_list: post_list.finalize().into(),
            keys: Vec::new(),
            held: Vec::new(),
            warned: HashMap::new(),
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
            hasher.update(dates[i].timestamp().to_le_bytes());
            hasher.update(dates[i].offset().local_minus_utc().to_le_bytes());
        }
        Some(hasher.finalize().into())
    }

    /// Whether the file at `path` is the one this cache recorded for
    /// `digest`: same digest, and the file's size and time unchanged.
    pub fn feed_unchanged(&self, path: &Path, digest: &Key) -> bool {
        let Some(now) = file_stamp(path) else {
            return false;
        };
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached("SELECT 1 FROM feeds WHERE path = ?1 AND digest = ?2 AND stamp = ?3")
            .and_then(|mut select| select.exists(params![path_text(path), &digest[..], now]))
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
    /// forgets any other.
    pub fn record_feeds(&self, feeds: &[(PathBuf, Key)]) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let _ = conn.execute("DELETE FROM feeds", []);
        for (path, digest) in feeds {
            if let Some(stamp) = file_stamp(path) {
                let _ = conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO feeds (path, digest, stamp) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![path_text(path), &digest[..], stamp])
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

    /// Drops the rows this build did not use and keeps the rest.
    pub fn finish(self) {
        let conn = self.conn.into_inner().unwrap_or_else(|e| e.into_inner());
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
        hasher.update(format!("{post:?}"));
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
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // A row that cannot be written is a post rendered again next time.
        let _ = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO rendered (key, html, excerpt, warnings) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut insert| {
                insert.execute(params![&key[..], content.html, content.excerpt, warnings])
            })
            .and_then(|_| use_key(&conn, key));
    }
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
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let layout: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if layout != LAYOUT {
        // Another herald's file: what it holds is only ever a rendering to redo.
        conn.execute_batch("DROP TABLE IF EXISTS rendered; DROP TABLE IF EXISTS feeds;")?;
        conn.pragma_update(None, "user_version", LAYOUT)?;
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS rendered (
             key BLOB PRIMARY KEY,
             html TEXT NOT NULL,
             excerpt TEXT NOT NULL,
             warnings TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS feeds (
             path TEXT PRIMARY KEY,
             digest BLOB NOT NULL,
             stamp TEXT NOT NULL
         );
         CREATE TEMP TABLE used (key BLOB PRIMARY KEY);",
    )?;
    Ok(conn)
}

/// A file's size and time of last change, as recorded.
fn file_stamp(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some(format!("{} {:?}", meta.len(), meta.modified().ok()?))
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
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
