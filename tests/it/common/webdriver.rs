//! A small W3C WebDriver client over the HTTP client the tests already use (ureq): enough to
//! drive Debian's `chromium` through its `chromedriver` — open a page, find and click, run a
//! script, take a screenshot. The protocol is a handful of JSON requests; a crate for it
//! (fantoccini) would bring a second TLS stack into the build for none of that.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where Debian puts them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `chromedriver` on a free loopback port, killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    /// Starts chromedriver. Panics, saying what to install, when Chromium is missing: a
    /// browser test that cannot run must fail, never pass.
    pub fn start() -> Driver {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: apt-get install -y chromium chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            if let Ok(v) = call(&agent(), "GET", &format!("{url}/status"), None)
                && v["ready"] == true
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver not ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, url }
    }

    /// A new headless browser with a phone's screen (360×740), JavaScript on or off.
    pub fn browser(&self, javascript: bool) -> Browser {
        let options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=360,740"],
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 1.0}},
        });
        let body = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let answer = call(
            &agent(),
            "POST",
            &format!("{}/session", self.url),
            Some(&body),
        )
        .expect("a browser session");
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        let browser = Browser {
            base: format!("{}/session/{id}", self.url),
            agent: agent(),
        };
        browser.set_javascript(javascript);
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

/// One WebDriver request; its `value`, or the error it answered.
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let mut resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.cloned().unwrap_or(json!({})).to_string()),
    }
    .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    if status >= 400 {
        return Err(format!("{status}: {}", v["value"]));
    }
    Ok(v.get("value").cloned().unwrap_or(v))
}

/// One browser window.
pub struct Browser {
    base: String,
    agent: ureq::Agent,
}

/// W3C's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.agent,
            "POST",
            &format!("{}{path}", self.base),
            Some(&body),
        )
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url}));
    }

    /// The first element matching the CSS selector.
    pub fn find(&self, css: &str) -> String {
        let v = self.post("/element", json!({"using": "css selector", "value": css}));
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no {css}: {v}"))
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.post(&format!("/element/{id}/click"), json!({}));
    }

    /// Clicks the element unless the page replaced it between finding it and the click (a
    /// live page updating itself, as an offer's page does when another mechanic takes the job):
    /// false then, and the page shows what replaced it.
    pub fn click_unless_replaced(&self, css: &str) -> bool {
        let post = |path: &str, body: Value| {
            call(
                &self.agent,
                "POST",
                &format!("{}{path}", self.base),
                Some(&body),
            )
        };
        let replaced =
            |e: &str| e.contains("stale element reference") || e.contains("no such element");
        let found = post("/element", json!({"using": "css selector", "value": css}));
        let id = match found {
            Ok(v) => v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no {css}: {v}"))
                .to_string(),
            Err(e) if replaced(&e) => return false,
            Err(e) => panic!("POST /element: {e}"),
        };
        match post(&format!("/element/{id}/click"), json!({})) {
            Ok(_) => true,
            Err(e) if replaced(&e) => false,
            Err(e) => panic!("POST /element/{id}/click: {e}"),
        }
    }

    /// Turns the pages' scripts off or on for the pages loaded next (through the DevTools
    /// protocol). The driver itself waits for a click's navigation by asking a script, so a
    /// test turns scripts back on before it clicks: the page already loaded stays as it was,
    /// its own script never run.
    pub fn set_javascript(&self, on: bool) {
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setScriptExecutionDisabled", "params": {"value": !on}}),
        );
    }

    /// The text of the page's `main`.
    pub fn text(&self) -> String {
        self.main_text()
            .unwrap_or_else(|why| panic!("no text of the page's main: {why}"))
    }

    /// The text of the page's `main`, or why there is none yet (a page still loading after a
    /// click or a navigation has no `main` for a moment).
    fn main_text(&self) -> Result<String, String> {
        let at = |path: &str| format!("{}{path}", self.base);
        let found = call(
            &self.agent,
            "POST",
            &at("/element"),
            Some(&json!({"using": "css selector", "value": "main"})),
        )?;
        let id = found[ELEMENT].as_str().ok_or(format!("no main: {found}"))?;
        let text = call(
            &self.agent,
            "GET",
            &at(&format!("/element/{id}/text")),
            None,
        )?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub fn run(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
    }

    /// Runs `script`, whose last argument is the callback to call with the result.
    pub fn run_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({"script": script, "args": []}))
    }

    /// Which of `choices` the page's `main` shows first, waiting up to `within` (a page that is
    /// loading is waited for, not read).
    pub fn wait_for_one_of<'w>(&self, choices: &[&'w str], within: Duration) -> Option<&'w str> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(text) = self.main_text()
                && let Some(found) = choices.iter().find(|w| text.contains(**w))
            {
                return Some(found);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Waits until the page's text contains `words`; false after `within`.
    pub fn wait_for(&self, words: &str, within: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            if self.main_text().is_ok_and(|text| text.contains(words)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = call(
            &self.agent,
            "GET",
            &format!("{}/screenshot", self.base),
            None,
        )
        .expect("a screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(&self.agent, "DELETE", &self.base, None);
    }
}
