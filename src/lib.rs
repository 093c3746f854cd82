//! herald: RSS, Atom and JSON feeds and email newsletters from a folder of
//! dated Markdown posts.
//!
//! The pipeline, one way: `config` -> `post` (discovery, front matter,
//! date, permalink) -> `site` -> `content` (`liquid` -> `markdown` -> `html`)
//! -> `feed`; and `site` -> `email` -> `deliver` <-> `ledger`.

pub mod bounce;
pub mod build;
pub mod cli;
pub mod config;
pub mod content;
pub mod deliver;
pub mod dkim;
pub mod email;
pub mod error;
pub mod feed;
pub mod held;
pub mod html;
pub mod jekyll;
pub mod kramdown;
pub mod ledger;
pub mod liquid;
pub mod markdown;
pub mod post;
pub mod private;
pub mod render_cache;
pub mod scaffold;
pub mod serve;
pub mod shortcodes;
pub mod site;
pub mod status;
pub mod subscribers;
pub mod terminal;
pub mod token;
pub mod writeback;

pub use error::{Error, Problem, Result};
pub use site::{LoadOptions, Site};
