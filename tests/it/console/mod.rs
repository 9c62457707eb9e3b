//! A console under test: `App` + an in-memory engine with the demo roster and the manual clock,
//! driven by keys exactly as the runtime drives it, and rendered to a `TestBackend`.
#![allow(dead_code)]

use pitwall::engine::Engine;
use pitwall::model::Session;
use pitwall::tui::app::{Action, App};
use pitwall::tui::panes::intake::IntakeState;
use pitwall::tui::theme::Theme;
use pitwall::tui::{drive, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct Console {
    pub app: App,
    pub engine: Engine,
    pub bells: usize,
    quit: bool,
}

impl Console {
    pub fn demo() -> Console {
        Console::with_theme(Theme { color: false })
    }

    pub fn with_theme(theme: Theme) -> Console {
        // On the suite's backend: SQLite in memory, or a schema of its own on PostgreSQL, so
        // the console's engine calls are tried on both.
        Console::on(crate::common::engine(), theme)
    }

    /// On in-memory SQLite whatever the suite's backend: for what only SQLite can stage (a
    /// read-only connection by `PRAGMA query_only`).
    pub fn on_sqlite() -> Console {
        let engine = Engine::open(None, pitwall::clock::Clock::manual_default()).unwrap();
        Console::on(engine, Theme { color: false })
    }

    fn on(mut engine: Engine, theme: Theme) -> Console {
        engine.load_seeds(pitwall::DEMO_ROSTER).unwrap();
        let mut app = App::new(engine.now(), theme);
        let snapshot = engine.snapshot(false).unwrap();
        let mut c = Console {
            app: App::new(engine.now(), theme),
            engine,
            bells: 0,
            quit: false,
        };
        std::mem::swap(&mut c.app, &mut app);
        c.send(Action::Snapshot(Box::new(snapshot)));
        c
    }

    pub fn send(&mut self, action: Action) {
        let mut bells = 0;
        let go_on = drive(&mut self.app, &mut self.engine, action, &mut || bells += 1);
        self.bells += bells;
        self.quit |= !go_on;
    }

    pub fn press(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        self.send(Action::Key(KeyEvent::new(code, modifiers)));
    }

    pub fn key(&mut self, c: char) {
        self.press(KeyCode::Char(c), KeyModifiers::NONE);
    }

    /// Alt-n: the n-th pane, from anywhere (also while typing into the intake form).
    pub fn pane(&mut self, n: u32) {
        let digit = char::from_digit(n, 10).expect("a pane number");
        self.press(KeyCode::Char(digit), KeyModifiers::ALT);
    }

    pub fn tab(&mut self) {
        self.press(KeyCode::Tab, KeyModifiers::NONE);
    }

    pub fn back_tab(&mut self) {
        self.press(KeyCode::BackTab, KeyModifiers::SHIFT);
    }

    pub fn ctrl(&mut self, c: char) {
        self.press(KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    pub fn enter(&mut self) {
        self.press(KeyCode::Enter, KeyModifiers::NONE);
    }

    pub fn esc(&mut self) {
        self.press(KeyCode::Esc, KeyModifiers::NONE);
    }

    pub fn type_text(&mut self, text: &str) {
        for ch in text.chars() {
            self.key(ch);
        }
    }

    /// Fills the intake form from the top: each entry is typed into the next field; `true`
    /// moves on with Enter. Starts editing at the first field.
    pub fn fill_intake(&mut self, fields: &[(&str, bool)]) {
        self.pane(1);
        while self.app.state::<IntakeState>().focus > 0 {
            self.press(KeyCode::Up, KeyModifiers::NONE);
        }
        // The form takes typing when the pane shows; after Esc, Enter edits the field.
        if self.app.mode != pitwall::tui::app::Mode::Editing {
            self.enter();
        }
        for (text, next) in fields {
            if !text.is_empty() {
                self.ctrl('u');
                self.type_text(text);
            }
            if *next {
                self.enter();
            }
        }
        self.esc();
    }

    /// Leaves the form (Esc) so the intake pane's letter keys act.
    pub fn leave_form(&mut self) {
        if self.app.mode == pitwall::tui::app::Mode::Editing {
            self.esc();
        }
    }

    pub fn quick_intake(&mut self, city: &str, postal: &str, concern: &str) {
        self.pane(1);
        self.leave_form();
        self.key('n');
        let form = self.app.state_mut::<IntakeState>();
        form.set("customer.name", "Test Customer");
        form.set("customer.email", "test@example.com");
        form.set("location.city", city);
        form.set("location.postal_code", postal);
        form.set("concern", concern);
        self.ctrl('s');
    }

    pub fn brand_intake(&mut self, city: &str, postal: &str, concern: &str, brand: &str) {
        self.pane(1);
        self.leave_form();
        self.key('n');
        let form = self.app.state_mut::<IntakeState>();
        form.set("customer.name", "Liam Murphy");
        form.set("customer.email", "liam@example.com");
        form.set("customer.phone", "902 555 0177");
        form.set("location.city", city);
        form.set("location.postal_code", postal);
        form.set("concern", concern);
        form.set("request_type", "brand_specialist");
        form.set("brands", brand);
        self.ctrl('s');
    }

    /// Moves the manual clock, ticks, and lets the console see it — what the runtime does
    /// every second.
    pub fn advance(&mut self, seconds: i64) {
        let tick = self.engine.advance(seconds).unwrap();
        let now = self.engine.now();
        self.send(Action::Clock(now));
        let _ = tick;
        let snapshot = self.engine.snapshot(self.app.wants_metrics()).unwrap();
        self.send(Action::Snapshot(Box::new(snapshot)));
    }

    pub fn sessions(&mut self) -> Vec<Session> {
        self.engine
            .snapshot(false)
            .unwrap()
            .sessions
            .into_iter()
            .map(|r| r.session)
            .collect()
    }

    pub fn only_session(&mut self) -> Session {
        let ids: Vec<String> = {
            let conn = self.engine.connection();
            let mut stmt = conn
                .prepare(pitwall::sql!("SELECT id FROM sessions"))
                .unwrap();
            stmt.query_map(pitwall::params![], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(ids.len(), 1, "expected exactly one session");
        self.engine.session(&ids[0]).unwrap().session.session
    }

    pub fn quit_requested(&self) -> bool {
        self.quit
    }

    pub fn terminal(&mut self, width: u16, height: u16) -> Terminal<TestBackend> {
        self.send(Action::Resize(width, height));
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| render::render(&self.app, f)).unwrap();
        terminal
    }

    /// The screen as text, one line per row.
    pub fn screen(&mut self, width: u16, height: u16) -> String {
        let terminal = self.terminal(width, height);
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            let mut line = String::new();
            let mut skip = 0;
            for x in 0..buffer.area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let symbol = buffer[(x, y)].symbol();
                skip = unicode_width(symbol).saturating_sub(1);
                line.push_str(symbol);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Wide symbols (🔔, ⏳, 界) occupy two cells; the second holds a blank the screen must skip.
/// ratatui's own measure, so the text is what a terminal shows.
fn unicode_width(symbol: &str) -> usize {
    usize::from(ratatui::buffer::CellWidth::cell_width(symbol)).max(1)
}
