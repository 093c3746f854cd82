//! Rendered posts kept between builds, so that a build renders only the
//! posts that changed: rendering (Liquid, Markdown, the sanitiser) is most
//! of a build's time, and most builds follow a small edit.
//!
//! The cache is a SQLite file beside the ledger (`.herald/render-cache.db`
//! by default), keyed by a SHA-256 of everything a post's rendering
//! depends on: this herald binary, the configuration and includes, every
//! post's path and URL, and the post's own front matter and text. A post
//! whose Liquid reads `site.posts` depends on every other post's text and
//! is never cached, nor is a post whose rendering warned (its warnings are
//! told again at each build). The file only ever speeds a build up: if it
//! cannot be opened or written (a read-only checkout, another build holding
//! it, a damaged file), the build renders everything, as without it.
//!
//! Each build keeps exactly the posts it used, so the file holds one
//! build's worth of rendered posts.

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

pub struct RenderCache {
    conn: Mutex<Connection>,
    /// The hash of what every post's rendering shares (see [`Renderer::digest`]).
    site: [u8; 32],
    /// This build's number: rows it uses are marked with it, the rest go.
    build: i64,
}

/// Where a site's cache is.
pub fn path(site: &Site) -> PathBuf {
    site.path(&site.config.email.state).with_file_name(FILE)
}

impl RenderCache {
    /// Opens (or makes) the cache of `site`, or `None` when it cannot be
    /// used; the build then renders every post.
    pub fn open(site: &Site, renderer: &Renderer<'_>) -> Option<RenderCache> {
        let conn = connect(&path(site)).ok()?;
        let build: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(build), 0) + 1 FROM render",
                [],
                |row| row.get(0),
            )
            .ok()?;
        // One transaction for the whole build: one sync at the end, and a
        // build that fails leaves the cache as it was.
        conn.execute_batch("BEGIN IMMEDIATE").ok()?;
        let mut hasher = Sha256::new();
        hasher.update(concat!("herald ", env!("CARGO_PKG_VERSION"), "\0"));
        hasher.update(binary_identity());
        renderer.digest(&mut hasher);
        Some(RenderCache {
            conn: Mutex::new(conn),
            site: hasher.finalize().into(),
            build,
        })
    }

    /// Renders `post`, or takes its rendering from the cache.
    pub fn render(&self, renderer: &Renderer<'_>, post: &Post) -> Result<Rendered, Vec<Problem>> {
        let body = post.body().map_err(|p| vec![p])?;
        if renderer.reads_other_posts(&body) {
            return renderer.render_body(post, body);
        }
        let key = self.key(post, &body);
        if let Some(content) = self.get(&key) {
            return Ok(Rendered {
                content,
                warnings: Vec::new(),
            });
        }
        let rendered = renderer.render_body(post, body)?;
        if rendered.warnings.is_empty() {
            self.put(&key, &rendered.content);
        }
        Ok(rendered)
    }

    /// Drops the rows this build did not use and keeps the rest.
    pub fn finish(self) {
        let conn = self.conn.into_inner().unwrap_or_else(|e| e.into_inner());
        let kept = conn
            .execute("DELETE FROM render WHERE build <> ?1", [self.build])
            .and_then(|_| conn.execute_batch("COMMIT"));
        if kept.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }

    fn key(&self, post: &Post, body: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.site);
        hasher.update(format!("{post:?}"));
        hasher.update(body);
        hasher.finalize().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Content> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let found = conn
            .query_row(
                "UPDATE render SET build = ?2 WHERE key = ?1 RETURNING html, excerpt",
                params![&key[..], self.build],
                |row| {
                    Ok(Content {
                        html: row.get(0)?,
                        excerpt: row.get(1)?,
                    })
                },
            )
            .optional();
        found.ok().flatten()
    }

    fn put(&self, key: &[u8; 32], content: &Content) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // A row that cannot be written is a post rendered again next time.
        let _ = conn.execute(
            "INSERT OR REPLACE INTO render (key, html, excerpt, build) VALUES (?1, ?2, ?3, ?4)",
            params![&key[..], content.html, content.excerpt, self.build],
        );
    }
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
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS render (
             key BLOB PRIMARY KEY,
             html TEXT NOT NULL,
             excerpt TEXT NOT NULL,
             build INTEGER NOT NULL
         )",
    )?;
    Ok(conn)
}

/// This herald binary, as its size and time of change: a rebuilt herald
/// may render differently under the same version number.
fn binary_identity() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
        .unwrap_or_default()
}
