//! A pane built for the unit tests only (registered under `cfg(test)`): it keeps its own state,
//! asks the engine with a purpose of its own and takes the result back, and all it took to add
//! it is this file and its name on the `panes!` line. Enter counts the roster.

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::command::{Command, NoInput};
use crate::engine::Outcome;
use crate::error::DispatchError;
use crate::tui::keymap::{Binding, Op, b, code};
use crate::tui::panes::{self, PaneDef, PaneState};
use crate::tui::state::{App, Effect, Pane, Purpose, Request};
use crate::tui::widgets::panel;

pub const PANE: PaneDef = PaneDef {
    title: "Probe",
    keys: KEYS,
    op,
    render,
    click: panes::no_click,
    key_state: panes::no_key_state,
    clamp: panes::no_clamp,
    back: panes::no_back,
    typing: None,
    filter: None,
    metrics: false,
    state: Some(panes::new_state::<ProbeState>),
    load: None,
    found: None,
    done,
};

const KEYS: &[Binding] = &[b(&[code(KeyCode::Enter)], "Enter", "count", Op::Detail)];

/// What the pane asks: nobody else reads this type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ask {
    /// The roster, counted once the engine answers; the number is which press asked.
    Count(usize),
}

#[derive(Debug, Default)]
pub struct ProbeState {
    pub asked: usize,
    /// The answer to the latest press: (which press, mechanics on the roster).
    pub counted: Option<(usize, usize)>,
}

impl PaneState for ProbeState {
    const PANE: &'static PaneDef = &PANE;
}

fn op(app: &mut App, op: Op) -> Vec<Effect> {
    if op != Op::Detail {
        return Vec::new();
    }
    let state = app.state_mut::<ProbeState>();
    state.asked += 1;
    vec![Effect::Run(Request {
        from: Pane::of(&PANE),
        command: Command::Mechanics(NoInput::default()),
        purpose: Purpose::new(Ask::Count(state.asked)),
    })]
}

fn done(app: &mut App, purpose: Purpose, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    match (purpose.get::<Ask>(), result) {
        (Some(Ask::Count(press)), Ok(Outcome::Mechanics(m))) => {
            app.state_mut::<ProbeState>().counted = Some((*press, m.mechanics.len()));
            Vec::new()
        }
        (Some(_), Ok(_)) => Vec::new(),
        (Some(_), Err(e)) => {
            app.error(e.message);
            Vec::new()
        }
        (None, result) => panes::acted(app, purpose, result),
    }
}

fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let text = match app.state::<ProbeState>().counted {
        Some((_, n)) => format!("{n} mechanics"),
        None => "not counted".to_string(),
    };
    frame.render_widget(Paragraph::new(text).block(panel(&app.theme, " Probe ")), area);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

    use super::*;
    use crate::engine::{CountOutcome, Engine};
    use crate::tui::app::{Action, update};
    use crate::tui::panes::REGISTRY;
    use crate::tui::panes::queues::QueuesState;
    use crate::tui::state::Mode;
    use crate::tui::theme::Theme;

    fn press(app: &mut App, engine: &mut Engine, code: KeyCode) {
        let key = Action::Key(KeyEvent::new(code, KeyModifiers::NONE));
        assert!(crate::tui::drive(app, engine, key, &mut || {}));
    }

    fn screen(app: &App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal
            .draw(|f| crate::tui::render::render(app, f))
            .unwrap();
        format!("{:?}", terminal.backend().buffer())
    }

    #[test]
    fn a_pane_added_with_its_file_and_one_line_keeps_its_state_and_hears_its_results() {
        let mut engine = Engine::open(None, crate::clock::Clock::manual_default()).unwrap();
        let roster = engine.load_seeds(crate::DEMO_ROSTER).unwrap();
        let mut app = App::new(engine.now(), Theme { color: false });
        app.mode = Mode::Normal;
        let me = Pane::of(&PANE);
        assert_eq!(me.0, REGISTRY.len() - 1, "the last on the panes! line");

        // Its number key reaches it, its tab shows, and its state starts as its own default.
        press(&mut app, &mut engine, KeyCode::Char('7'));
        assert_eq!(app.pane, me);
        assert!(screen(&app).contains(" 7 Probe "));
        assert!(screen(&app).contains("not counted"));
        assert!(app.state::<ProbeState>().counted.is_none());

        // Enter asks the engine; the result comes back to this pane, by its own purpose.
        app.state_mut::<QueuesState>().selected = 2;
        press(&mut app, &mut engine, KeyCode::Enter);
        press(&mut app, &mut engine, KeyCode::Enter);
        let n = roster.count;
        assert!(n > 0);
        assert_eq!(app.state::<ProbeState>().counted, Some((2, n)));
        assert!(screen(&app).contains(&format!("{n} mechanics")));
        assert_eq!(
            app.state::<QueuesState>().selected,
            2,
            "another pane's state is left alone"
        );

        // Its purpose answered to another pane is no answer to anyone: nothing changes.
        let purpose = Purpose::new(Ask::Count(9));
        let effects = update(
            &mut app,
            Action::Done(Pane::Queues, purpose.clone(), Ok(Outcome::Count(CountOutcome { count: 0 }))),
        );
        assert!(effects.is_empty());
        assert_eq!(app.state::<ProbeState>().counted, Some((2, n)));
        assert!(app.toast.is_none());

        // A plain action answered to it is confirmed as any pane's is.
        let effects = update(
            &mut app,
            Action::Done(me, panes::plain("Done"), Ok(Outcome::Count(CountOutcome { count: 0 }))),
        );
        assert_eq!(effects, vec![Effect::Refresh]);
        assert_eq!(app.toast.as_ref().map(|t| t.text.as_str()), Some("Done"));
        assert_eq!(purpose, Purpose::new(Ask::Count(9)));
        assert_ne!(purpose, Purpose::new(Ask::Count(2)));
    }
}
