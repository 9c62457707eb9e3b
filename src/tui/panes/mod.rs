//! One file per pane: each owns its keys (declared once, in its [`PaneDef`]), their meaning,
//! its drawing and its clicks. The console knows the panes only through [`REGISTRY`]: a new
//! pane is its own file and its name in the `panes!` line below.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use super::keymap::{Binding, Op};
use super::state::{App, Effect, Found, KeyState, Pane, PaneStates, Purpose, Request};
use crate::command::Command;
use crate::engine::Outcome;
use crate::engine::views::Snapshot;
use crate::error::DispatchError;

/// A pane's filter text and the selection a new filter puts back at the top.
pub type FilterOf = fn(&mut App) -> (&mut String, Option<&mut usize>);

/// Takes the keys while the pane's own editor is open.
pub type TypingBy = fn(&mut App, Option<Op>, KeyEvent) -> Vec<Effect>;

/// Takes in what one of the pane's reads found.
pub type FoundBy = fn(&mut App, Result<Found, DispatchError>) -> Vec<Effect>;

/// What the console asks of a pane.
pub struct PaneDef {
    /// Its name on the tab and in the help.
    pub title: &'static str,
    /// Its keys, declared once: they feed the key lookup, the footer and the `?` help.
    pub keys: &'static [Binding],
    /// What one of its keys does (keys it has no meaning for do nothing).
    pub op: fn(&mut App, Op) -> Vec<Effect>,
    /// Draws it in the body of the screen.
    pub render: fn(&App, &mut Frame<'_>, Rect),
    /// A left click at (column, body row) in a body `height` rows tall.
    pub click: fn(&mut App, u16, u16, u16) -> Vec<Effect>,
    /// How one of its keys shows in the footer now (dimmed, promoted, said more precisely).
    pub key_state: fn(&App, Op, &mut KeyState),
    /// Keeps its selection within fresh data (`app.data`), given the snapshot it replaced.
    pub clamp: fn(&mut App, &Snapshot),
    /// Esc when nothing else is there to dismiss.
    pub back: fn(&mut App),
    /// Keys while its own editor has them (`Mode::Editing`, `Mode::PlanEditor`: what it types
    /// into is its state), whole, with what the keymap made of them.
    pub typing: Option<TypingBy>,
    /// The text its `/` filter types into, when it has one, and the selection a new filter
    /// puts back at the top (`None`: the pane keeps its selection on its row itself).
    pub filter: Option<FilterOf>,
    /// It shows the §9 metrics, which snapshots load only for it.
    pub metrics: bool,
    /// Makes its state ([`new_state`] of its [`PaneState`]), when it keeps one.
    pub state: Option<fn() -> Box<dyn std::any::Any>>,
    /// Reads what it shows beyond the snapshot (the history's search): run when the pane comes
    /// into view and when its filter changes.
    pub load: Option<fn(&mut App) -> Vec<Effect>>,
    /// What one of its [`Read`](super::state::Read)s found: only the pane that asked hears it.
    pub found: Option<FoundBy>,
    /// The result of a command it asked for (a [`Request`] names the pane it came from), with
    /// the [`Purpose`] it asked with, of the pane's own type; [`acted`] for panes that ask only
    /// plain actions ([`Act`]).
    pub done: fn(&mut App, Purpose, Result<Outcome, DispatchError>) -> Vec<Effect>,
}

/// A pane's own state: its type, made once per console (`PaneDef::state`, from
/// [`new_state`]) and reached by that type through [`App::state`] (or `app.panes.get`, which
/// leaves the rest of `App` free to read beside it); `App` has no field for it.
pub trait PaneState: Default + 'static {
    /// The pane it belongs to.
    const PANE: &'static PaneDef;
}

/// Makes a pane's state, for its `PaneDef::state`.
pub fn new_state<S: PaneState>() -> Box<dyn std::any::Any> {
    Box::new(S::default())
}

impl PaneStates {
    /// Every registered pane's state, as its `PaneDef::state` makes it.
    pub fn new() -> PaneStates {
        PaneStates(
            REGISTRY
                .iter()
                .map(|p| p.state.map(|make| make()))
                .collect(),
        )
    }

    /// The state of the pane that keeps an `S`.
    pub fn get<S: PaneState>(&self) -> &S {
        self.at(Pane::of(S::PANE))
            .expect("a registered pane's state is made with the console")
    }

    pub fn get_mut<S: PaneState>(&mut self) -> &mut S {
        self.at_mut(Pane::of(S::PANE))
            .expect("a registered pane's state is made with the console")
    }
}

impl Default for PaneStates {
    fn default() -> PaneStates {
        PaneStates::new()
    }
}

impl App {
    /// The state of the pane that keeps an `S`.
    pub fn state<S: PaneState>(&self) -> &S {
        self.panes.get()
    }

    pub fn state_mut<S: PaneState>(&mut self) -> &mut S {
        self.panes.get_mut()
    }
}

/// Declares the panes once: each name is its module (a file of this folder, exporting
/// `PANE`) and its place in the tab order (tab n is number key n).
macro_rules! panes {
    ($($pane:ident),+ ; tests: $($test:ident),*) => {
        $(pub mod $pane;)+
        $(#[cfg(test)] pub mod $test;)*

        /// The panes, in tab order (those for the unit tests last, in their build only).
        pub const REGISTRY: &[&PaneDef] = &[$(&$pane::PANE,)+ $(#[cfg(test)] &$test::PANE,)*];
    };
}

// A new pane: its file here, and its name on this line. Those after `tests:` are built for the
// unit tests only: `probe` proves that a pane with its own state and requests takes no more.
panes!(intake, queues, mechanics, waitlist, metrics, history; tests: probe);

/// A plain action's purpose, which any pane may ask with: the confirmation shown on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act(pub String);

/// A plain action asked by `from`: the command, and the confirmation to show once it is done.
pub fn act(from: Pane, command: Command, done: impl Into<String>) -> Effect {
    Effect::Run(Request {
        from,
        command,
        purpose: plain(done),
    })
}

/// A plain action's purpose: the confirmation to show once it is done.
pub fn plain(done: impl Into<String>) -> Purpose {
    Purpose::new(Act(done.into()))
}

/// The result of a plain action ([`Act`]): its confirmation, or the engine's refusal with its
/// code, and the lists read again either way. A pane's own `done` hands on what it does not
/// handle itself.
pub fn acted(
    app: &mut App,
    purpose: Purpose,
    result: Result<Outcome, DispatchError>,
) -> Vec<Effect> {
    // Another pane's purpose cannot reach this one: a request names the pane it came from.
    let Some(Act(text)) = purpose.get::<Act>() else {
        return Vec::new();
    };
    match result {
        Ok(_) => app.info(text.clone()),
        Err(e) => app.error(format!("{} ({})", e.message, e.code.as_str())),
    }
    vec![Effect::Refresh]
}

/// For panes without clicks, footer opinions, selections or anything to back out of.
pub fn no_click(_: &mut App, _: u16, _: u16, _: u16) -> Vec<Effect> {
    Vec::new()
}
pub fn no_key_state(_: &App, _: Op, _: &mut KeyState) {}
pub fn no_clamp(_: &mut App, _: &Snapshot) {}
pub fn no_back(_: &mut App) {}
pub fn no_op(_: &mut App, _: Op) -> Vec<Effect> {
    Vec::new()
}

/// How a binding is written in the footer and help: the pane keys reach as many panes as
/// there are.
pub fn label(binding: &Binding) -> String {
    if binding.op != Op::GoPane {
        return binding.label.to_string();
    }
    let n = REGISTRY.len();
    if binding.keys.first().is_some_and(|k| k.alt) {
        format!("Alt-1…{n}")
    } else {
        format!("1–{n}")
    }
}

impl Pane {
    /// Every pane, in tab order.
    pub fn all() -> impl Iterator<Item = Pane> {
        (0..REGISTRY.len()).map(Pane)
    }

    /// What the console asks of this pane.
    pub fn def(self) -> &'static PaneDef {
        REGISTRY[self.0 % REGISTRY.len()]
    }

    /// The pane a definition of the registry stands for (titles are unique).
    pub fn of(def: &PaneDef) -> Pane {
        Pane(
            REGISTRY
                .iter()
                .position(|d| d.title == def.title)
                .expect("a pane asks for itself only once registered"),
        )
    }

    pub fn title(self) -> &'static str {
        self.def().title
    }

    /// How the pane's tab reads in the header.
    pub fn tab_label(self) -> String {
        format!(" {} {} ", self.0 + 1, self.title())
    }
}
