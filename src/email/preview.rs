//! `herald preview [POST]`: a post's email written as `.html`, `.txt` and
//! `.eml` files to look at (in a browser, a pager, a mail client) before
//! anything is sent. The copy is addressed to a sample subscriber; nothing
//! touches the ledger.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::email::{GMAIL_CLIP_BYTES, Kit, Recipient};
use crate::error::{Error, Result};
use crate::post::Post;

/// The sample reader a preview is addressed to.
pub const SAMPLE: Recipient<'static> = Recipient {
    email: "reader@example.org",
    name: Some("Sample Reader"),
    token: "preview-token",
};

/// What a preview wrote and what the author should know about it.
#[derive(Debug)]
pub struct Preview {
    pub files: Vec<PathBuf>,
    pub subject: String,
    pub html_bytes: usize,
    pub message_bytes: usize,
    pub warnings: Vec<String>,
}

/// Picks the post: by slug or file name, else the newest that may be mailed.
pub fn choose<'a>(
    posts: &'a [Post],
    name: Option<&str>,
    find: impl Fn(&str) -> Option<&'a Post>,
) -> Result<&'a Post> {
    match name {
        Some(name) => find(name).ok_or_else(|| {
            Error::Usage(format!(
                "no published post named {name:?}; give a slug or a file name (drafts and future posts are not mailed)"
            ))
        }),
        None => posts
            .iter()
            .find(|p| p.email)
            .ok_or_else(|| Error::Usage("no published post to preview".into())),
    }
}

/// Writes `post`'s email into `out` as `<slug>.html`, `.txt` and `.eml`.
pub fn write(kit: &Kit<'_>, post: &Post, out: &Path) -> Result<Preview> {
    let newsletter = kit.newsletter(post)?;
    let copy = newsletter.copy_for(&SAMPLE)?;
    let (html, text) = (copy.html, copy.text);
    let letter = kit
        .letterhead
        .compose(&newsletter, &SAMPLE, SystemTime::now())
        .map_err(|e| Error::Message(e.to_string()))?;
    fs_err::create_dir_all(out)?;
    let stem = file_stem(&newsletter.slug);
    let mut files = Vec::new();
    for (extension, bytes) in [
        ("html", html.as_bytes()),
        ("txt", text.as_bytes()),
        ("eml", letter.bytes.as_slice()),
    ] {
        let path = out.join(format!("{stem}.{extension}"));
        fs_err::write(&path, bytes)?;
        files.push(path);
    }
    let mut warnings = Vec::new();
    if html.len() > GMAIL_CLIP_BYTES {
        warnings.push(format!(
            "the HTML is {} KB; Gmail clips messages over 102 KB (the unsubscribe link at the end would be hidden). Shorten the post or set `content = \"excerpt\"`-style summaries in your template (post.excerpt).",
            html.len() / 1024
        ));
    }
    if !post.email {
        warnings.push("this post has `email: false`: `herald send` will never mail it".into());
    }
    Ok(Preview {
        files,
        subject: newsletter.subject.clone(),
        html_bytes: html.len(),
        message_bytes: letter.bytes.len(),
        warnings,
    })
}

/// A slug as a safe file name (a front matter slug may hold anything).
fn file_stem(slug: &str) -> String {
    let stem: String = slug
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if stem.is_empty() { "post".into() } else { stem }
}
