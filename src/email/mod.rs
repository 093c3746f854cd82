//! The newsletter email: a post rendered through the email templates
//! (`template`) and one RFC 5322 message per subscriber (`message`).
//!
//! A post's content is rendered once ([`Newsletter`]); each subscriber's
//! copy renders the templates with their own values, and shares the CSS
//! inlining with every reader whose copy has the same shape (`shape`).
//! Sending is `deliver`'s job.

pub mod confirmation;
pub mod message;
pub mod placeholders;
pub mod preview;
pub mod shape;
pub mod template;
pub mod text;
pub mod transfer;

pub use message::{ComposeError, Letter, Letterhead};
pub use template::{Copy, Newsletter, Recipient, Templates};

use crate::content::Renderer;
use crate::error::{Error, Problems, Result};
use crate::post::Post;
use crate::site::Site;

/// Gmail hides everything after the first 102 KB of a message's HTML
/// behind "[Message clipped]", the unsubscribe link included.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// Everything needed to write a site's newsletters, loaded once per run.
pub struct Kit<'a> {
    pub site: &'a Site,
    pub templates: Templates,
    pub letterhead: Letterhead,
    renderer: Renderer<'a>,
}

impl<'a> Kit<'a> {
    pub fn new(site: &'a Site) -> Result<Kit<'a>> {
        Ok(Kit {
            site,
            letterhead: Letterhead::for_site(site)?,
            templates: Templates::load(site)?,
            renderer: Renderer::new(site)?,
        })
    }

    /// Renders `post` (Liquid, Markdown, portable HTML, template, CSS) once.
    pub fn newsletter(&self, post: &Post) -> Result<Newsletter> {
        let rendered = self
            .renderer
            .render(post)
            .map_err(|problems| Error::Posts {
                problems: Problems(problems),
                warnings: Vec::new(),
            })?;
        self.templates.render(self.site, post, &rendered.content)
    }
}
