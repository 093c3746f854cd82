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

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::content::{Content, Rendered, Renderer};
use crate::error::Problem;
use crate::post::Post;
use crate::site::Site;

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
        })
    }

    /// Renders `post`, or takes its rendering from the cache.
    pub fn render(&self, renderer: &Renderer<'_>, post: &Post) -> Result<Rendered, Vec<Problem>> {
        let body = post.body().map_err(|p| vec![p])?;
        if renderer.reads_other_posts(&body) {
            return renderer.render_body(post, body);
        }
        let key = self.key(post, &body, renderer.links_to_posts(&body));
        if let Some(rendered) = self.get(&key) {
            return Ok(rendered);
        }
        let rendered = renderer.render_body(post, body)?;
        self.put(&key, &rendered);
        Ok(rendered)
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
         CREATE TEMP TABLE used (key BLOB PRIMARY KEY);",
    )?;
    Ok(conn)
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
