//! The pages in a real browser: Debian's chromium, headless, phone-sized,
//! driven through chromedriver. The whole loop is clicked through as a
//! reader would, and each page is photographed for README
//! (`HERALD_SCREENSHOTS=1`). Pages without proof of work carry no script
//! at all, which each check asserts: they work for readers who block
//! JavaScript. (Blocking it in chromium instead stalls chromedriver's own
//! scripts for minutes at each click.)

use std::time::Duration;

use fantoccini::{Client, Locator};
use herald::ledger::SubscriberStatus;
use mail_parser::MessageParser;
use tokio::task::block_in_place;

use crate::webdriver::{Driver, PHONE, screenshot};
use crate::{Site, SmtpServer, confirm_link};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_subscribes_confirms_and_leaves_in_a_browser_on_pages_without_scripts() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "min_fill_time = \"1s\"");
    block_in_place(|| site.herald(&["send", "--mark-sent"]).success());
    let serve = site.serve();
    let driver = Driver::start();
    let browser = driver.browser(PHONE, ("news.test", serve.address)).await;

    browser.goto(&serve.url("/subscribe")).await.unwrap();
    wait_for_page(&browser, "New posts by email").await;
    assert_eq!(
        browser.title().await.unwrap(),
        "Subscribe by email · Working notes"
    );
    // Each field is reached through its label, as a screen reader names it.
    for (label, input) in [("Email address", "herald-email"), ("Name", "herald-name")] {
        let found = browser
            .find(Locator::XPath(&format!(
                "//label[starts-with(normalize-space(), '{label}')]"
            )))
            .await
            .unwrap_or_else(|_| panic!("a label {label:?}"));
        assert_eq!(found.attr("for").await.unwrap().as_deref(), Some(input));
    }
    let honeypot = browser.find(Locator::Id("herald-website")).await.unwrap();
    assert!(!honeypot.is_displayed().await.unwrap() || !in_view(&browser, &honeypot).await);
    screenshot(&browser, "serve-subscribe").await;
    type_into(&browser, "herald-email", "grace@notes.test").await;
    type_into(&browser, "herald-name", "Grace").await;
    // A person takes longer than `min_fill_time` to fill the form in.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    press(&browser, "Subscribe").await;
    wait_for_page(&browser, "Check your inbox").await;
    screenshot(&browser, "serve-check-inbox").await;

    let mail = block_in_place(|| smtp.wait_for("grace@notes.test", 1)).remove(0);
    browser.goto(&confirm_link(&mail.bytes)).await.unwrap();
    wait_for_page(&browser, "Press the button to receive new posts").await;
    assert_eq!(
        site.status("grace@notes.test"),
        Some(SubscriberStatus::Pending),
        "opening the link confirms nothing"
    );
    screenshot(&browser, "serve-confirm").await;
    press(&browser, "Confirm my subscription").await;
    wait_for_page(&browser, "new posts will come to you by email").await;
    assert_eq!(
        site.status("grace@notes.test"),
        Some(SubscriberStatus::Active)
    );
    screenshot(&browser, "serve-confirmed").await;

    site.post("2025-06-01-next.md", "The next post");
    block_in_place(|| site.herald(&["send"]).success());
    let post = block_in_place(|| smtp.wait_for("grace@notes.test", 2)).remove(1);
    browser.goto(&web_unsubscribe(&post.bytes)).await.unwrap();
    wait_for_page(&browser, "Press the button to stop receiving new posts").await;
    assert_eq!(
        site.status("grace@notes.test"),
        Some(SubscriberStatus::Active),
        "opening the link unsubscribes no one"
    );
    screenshot(&browser, "serve-unsubscribe").await;
    press(&browser, "Unsubscribe").await;
    wait_for_page(&browser, "You will not get any more mail").await;
    assert_eq!(
        site.status("grace@notes.test"),
        Some(SubscriberStatus::Unsubscribed)
    );
    screenshot(&browser, "serve-unsubscribed").await;

    browser.goto(&serve.url("/confirm?t=forged")).await.unwrap();
    wait_for_page(&browser, "This link is not valid").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_proof_of_work_the_browser_solves_the_challenge_and_the_signup_counts() {
    let smtp = SmtpServer::start();
    let site = Site::new(&smtp, "min_fill_time = \"1s\"\nproof_of_work = 14");
    let serve = site.serve();
    let driver = Driver::start();
    let browser = driver.browser(PHONE, ("news.test", serve.address)).await;

    browser.goto(&serve.url("/subscribe")).await.unwrap();
    type_into(&browser, "herald-email", "linus@notes.test").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    press(&browser, "Subscribe").await;
    wait_for_text(&browser, "Check your inbox").await;
    let mail = block_in_place(|| smtp.wait_for("linus@notes.test", 1));
    assert_eq!(mail.len(), 1);
    assert_eq!(
        site.status("linus@notes.test"),
        Some(SubscriberStatus::Pending)
    );
    browser.close().await.unwrap();
}

/// The https URL of a message's List-Unsubscribe header.
fn web_unsubscribe(bytes: &[u8]) -> String {
    let message = MessageParser::default().parse(bytes).unwrap();
    let header = message
        .header_raw("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let header = header.replace(['\r', '\n'], "");
    header
        .split(',')
        .map(|part| part.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|part| part.starts_with("http"))
        .unwrap_or_else(|| panic!("no web URL in {header}"))
        .to_string()
}

async fn type_into(browser: &Client, id: &str, text: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap();
    field.click().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Clicks the button that reads `label`, as a reader would.
async fn press(browser: &Client, label: &str) {
    browser
        .find(Locator::XPath(&format!(
            "//button[normalize-space() = '{label}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("a button {label:?}"))
        .click()
        .await
        .unwrap();
}

/// Waits for `text` on the page, which must hold no script (see the
/// module doc) and fit a phone's screen.
async fn wait_for_page(browser: &Client, text: &str) {
    wait_for_text(browser, text).await;
    let scripts = browser
        .execute("return document.scripts.length;", vec![])
        .await
        .unwrap();
    assert_eq!(scripts, 0, "a script on the page showing {text:?}");
    assert_fits_the_screen(browser).await;
}

async fn wait_for_text(browser: &Client, text: &str) {
    let xpath = format!("//*[contains(normalize-space(), \"{text}\")]");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // Polled by hand: while the form's answer loads, a query can fail
    // outright (the page it was asked of is gone) rather than find nothing.
    while browser.find(Locator::XPath(&xpath)).await.is_err() {
        if std::time::Instant::now() > deadline {
            let page = browser.source().await.unwrap_or_default();
            panic!("no {text:?} on the page: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No sideways scrolling on a phone: the page is as wide as the screen.
async fn assert_fits_the_screen(browser: &Client) {
    let widths = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (page, screen) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
    assert!(
        page <= screen,
        "the page is {page}px wide on a {screen}px screen"
    );
}

/// Whether an element lies inside the visible part of the page.
async fn in_view(browser: &Client, element: &fantoccini::elements::Element) -> bool {
    let (x, y, w, h) = element.rectangle().await.unwrap();
    let (width, height) = browser.get_window_size().await.unwrap();
    x + w > 0.0 && y + h > 0.0 && x < width as f64 && y < height as f64
}
