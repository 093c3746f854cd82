//! The HTML pages: herald's own text and forms for each page (compiled in,
//! so the fields the defences rely on are always there), inside the
//! site's layout, `templates/page.html`, which the author may override as
//! they do the email templates. Both are minijinja with HTML escaping on.

use minijinja::{Environment, Value, context};

use crate::error::{Error, Result};
use crate::scaffold::PAGE_HTML;
use crate::site::Site;

const BODIES: [(&str, &str); 12] = [
    ("subscribe", include_str!("pages/subscribe.html")),
    ("form.html", include_str!("pages/form.html")),
    ("check-inbox", include_str!("pages/check_inbox.html")),
    ("confirm", include_str!("pages/confirm.html")),
    ("confirmed", include_str!("pages/confirmed.html")),
    ("unsubscribe", include_str!("pages/unsubscribe.html")),
    ("unsubscribed", include_str!("pages/unsubscribed.html")),
    ("invalid-link", include_str!("pages/invalid_link.html")),
    ("busy", include_str!("pages/busy.html")),
    ("too-many", include_str!("pages/too_many.html")),
    ("one-more-step", include_str!("pages/one_more_step.html")),
    ("snippet", include_str!("pages/snippet.html")),
];

/// Every page's title.
fn title(page: &str) -> &'static str {
    match page {
        "check-inbox" => "Check your inbox",
        "confirm" => "Confirm your subscription",
        "confirmed" => "You are subscribed",
        "unsubscribe" => "Unsubscribe",
        "unsubscribed" => "You are unsubscribed",
        "invalid-link" => "This link does not work",
        "busy" => "Please try again later",
        "too-many" => "Too many signups",
        _ => "Subscribe by email",
    }
}

pub struct Pages {
    env: Environment<'static>,
    site: Value,
}

impl Pages {
    /// The site's layout (or the default) and herald's page bodies.
    pub fn load(site: &Site) -> Result<Pages> {
        let mut env = Environment::new();
        // Autoescape by name: the bodies are named without `.html`.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for (name, source) in BODIES {
            env.add_template(name, source)
                .map_err(|e| Error::Message(format!("herald's page {name}: {e}")))?;
        }
        let path = site.path(&site.config.email.templates).join("page.html");
        let layout = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PAGE_HTML.to_string(),
            Err(e) => return Err(Error::Io(e)),
        };
        let shown = site.shown(&path);
        env.add_template_owned("page.html", layout)
            .map_err(|e| Error::config(&shown, e.line(), format!("template: {e}")))?;
        let c = &site.config.site;
        let pages = Pages {
            env,
            site: context! {
                title => &c.title,
                url => &c.url,
                description => &c.description,
                language => &c.language,
            },
        };
        // A broken layout is the author's to fix before anyone sees it.
        pages
            .render("check-inbox", context! {})
            .map_err(|e| Error::config(&shown, None, e.to_string()))?;
        Ok(pages)
    }

    /// `page`'s body with `values`, inside the layout.
    pub fn render(&self, page: &str, values: Value) -> Result<String> {
        let body = self.body(page, values)?;
        self.env
            .get_template("page.html")
            .and_then(|layout| {
                layout.render(context! {
                    site => &self.site,
                    page => page,
                    title => title(page),
                    body => Value::from_safe_string(body),
                })
            })
            .map_err(|e| Error::Message(format!("templates/page.html: {e}")))
    }

    /// `page`'s body alone (the `--form` snippet is one).
    pub fn body(&self, page: &str, values: Value) -> Result<String> {
        let ctx = context! { site => &self.site, ..values };
        self.env
            .get_template(page)
            .and_then(|body| body.render(ctx))
            .map_err(|e| Error::Message(format!("herald's page {page}: {e}")))
    }
}
