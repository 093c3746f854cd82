//! A real headless browser for the web pages `herald serve` answers with:
//! Debian's `chromium`, driven through `chromedriver` (WebDriver) by
//! fantoccini. `.ci/run` installs both; a machine without them fails these
//! tests rather than passing them unseen.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

/// Phone-sized, the size most readers follow a mail link on.
pub const PHONE: (u32, u32) = (390, 844);

/// A chromedriver process, killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    /// Browser profiles, one folder each, removed with the driver.
    profiles: tempfile::TempDir,
}

impl Driver {
    pub fn start() -> Driver {
        let port = free_port();
        let child = Command::new(program("chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver could not start ({e}); install Debian's chromium and chromium-driver (.ci/run does)")
            });
        let driver = Driver {
            child,
            port,
            profiles: tempfile::tempdir().unwrap(),
        };
        driver.wait_until_listening();
        driver
    }

    /// A new headless browser window of `size` (width, height) that takes
    /// `host` to `address` (the site's public name to the test's server).
    pub async fn browser(&self, size: (u32, u32), host: (&str, SocketAddr)) -> Client {
        let profile = self.profiles.path().join(next().to_string());
        let options = serde_json::json!({
            "binary": program("chromium"),
            "args": [
                "--headless=new",
                // Tests run as root in CI containers, where the sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--host-resolver-rules=MAP {} {}", host.0, host.1),
                // The proxy serves the pages over https, where scripts get
                // Web Crypto; the test's plain http stands in for it.
                format!("--unsafely-treat-insecure-origin-as-secure=http://{}", host.0),
                format!("--user-data-dir={}", profile.display()),
            ],
            // Headless windows are at least 500 px wide; a phone's viewport is emulated.
            "mobileEmulation": {
                "deviceMetrics": { "width": size.0, "height": size.1, "pixelRatio": 1 },
            },
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session through chromedriver")
    }

    fn wait_until_listening(&self) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen on port {} within 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a screenshot into docs/ for README when `HERALD_SCREENSHOTS` is
/// set (`HERALD_SCREENSHOTS=1 cargo test --test serve browser`), so the
/// pictures come from the same run that checks the pages.
pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    if std::env::var_os("HERALD_SCREENSHOTS").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
    }
}

fn program(name: &str) -> PathBuf {
    let debian = Path::new("/usr/bin").join(name);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(name)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A number not handed out before in this process: one profile folder per browser.
fn next() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
