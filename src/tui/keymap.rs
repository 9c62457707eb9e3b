//! The one keymap. Every binding is listed once, here; the footer and the `?` help overlay are
//! both generated from these tables, so help can never drift from the keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::Pane;

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Quit,
    NextPane,
    PrevPane,
    /// Number key n: the n-th pane.
    GoPane,
    Help,
    Filter,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    ToggleBell,
    // Intake
    Edit,
    Toggle,
    Submit,
    NewIntake,
    BrowseOffline,
    JoinWaitlist,
    ScheduleLater,
    /// Show who was not considered for the intake, and why.
    WhyNot,
    // Editing a field
    NextField,
    PrevField,
    StopEditing,
    ClearField,
    /// Keys the text input handles itself (cursor movement, deletion): listed, never looked up.
    Typing,
    // Queues
    Accept,
    Decline,
    CancelSession,
    Complete,
    Detail,
    SignWaiver,
    ConfirmPayment,
    // Mechanics
    ClockToggle,
    OnlineOnly,
    /// Edit the selected mechanic's weekly plan (SPEC §14).
    EditPlan,
    // Waitlist
    CancelEntry,
    // Dialogs
    Yes,
    No,
    Back,
    Choose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

pub const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
        alt: false,
    }
}
pub const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
        alt: false,
    }
}
pub const fn alt(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
        alt: true,
    }
}
pub const fn code(code: KeyCode) -> Key {
    Key {
        code,
        ctrl: false,
        alt: false,
    }
}

/// Alt-1 … Alt-9: the n-th pane from anywhere, also while typing into the intake form (where
/// a plain digit is text). Terminals without an Alt key send Esc first, which leaves the form;
/// the plain digit then switches as usual.
const ALT_DIGITS: &[Key] = &[
    alt('1'),
    alt('2'),
    alt('3'),
    alt('4'),
    alt('5'),
    alt('6'),
    alt('7'),
    alt('8'),
    alt('9'),
];

/// The pane keys of the form's tables: listed in the footer, so a dispatcher typing a
/// customer's details sees how to leave for another pane.
const FORM_PANE: Binding = b(ALT_DIGITS, "Alt-1…", "pane", Op::GoPane);

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the key is written in the footer and help.
    pub label: &'static str,
    /// What it does, in a few words.
    pub help: &'static str,
    pub op: Op,
    /// Shown in the footer (the help overlay shows everything).
    pub footer: bool,
}

pub const fn b(keys: &'static [Key], label: &'static str, help: &'static str, op: Op) -> Binding {
    Binding {
        keys,
        label,
        help,
        op,
        footer: true,
    }
}
pub const fn hidden(
    keys: &'static [Key],
    label: &'static str,
    help: &'static str,
    op: Op,
) -> Binding {
    Binding {
        keys,
        label,
        help,
        op,
        footer: false,
    }
}

/// Where a table of bindings applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(Pane),
    Editing,
    Choosing,
    Filter,
    Confirm,
    Picker,
    Detail,
    Help,
    /// Typing a mechanic's weekly plan.
    PlanEditor,
}

pub const GLOBAL: &[Binding] = &[
    b(&[code(KeyCode::Tab)], "Tab", "next pane", Op::NextPane),
    hidden(
        &[code(KeyCode::BackTab)],
        "S-Tab",
        "previous pane",
        Op::PrevPane,
    ),
    hidden(
        &[
            k('1'),
            k('2'),
            k('3'),
            k('4'),
            k('5'),
            k('6'),
            k('7'),
            k('8'),
            k('9'),
        ],
        "1–9",
        "switch to pane",
        Op::GoPane,
    ),
    hidden(ALT_DIGITS, "Alt-1…", "pane (in the form too)", Op::GoPane),
    hidden(&[code(KeyCode::Up), k('k')], "↑/k", "move up", Op::Up),
    hidden(&[code(KeyCode::Down), k('j')], "↓/j", "move down", Op::Down),
    hidden(&[code(KeyCode::PageUp)], "PgUp", "page up", Op::PageUp),
    hidden(
        &[code(KeyCode::PageDown)],
        "PgDn",
        "page down",
        Op::PageDown,
    ),
    hidden(&[k('!')], "!", "terminal bell on/off", Op::ToggleBell),
    b(&[k('?')], "?", "all keys", Op::Help),
    b(&[k('q'), ctrl('c')], "q", "quit", Op::Quit),
];

/// Typing into a text field: the intake pane's form takes typing as soon as the pane shows.
/// The cursor keys have no op of their own: whatever the table does not take goes to the text
/// input (tui-input), so these rows only tell the footer and help.
const EDITING: &[Binding] = &[
    b(
        &[
            code(KeyCode::Tab),
            code(KeyCode::Enter),
            code(KeyCode::Down),
        ],
        "Tab",
        "next field",
        Op::NextField,
    ),
    b(
        &[code(KeyCode::BackTab), code(KeyCode::Up)],
        "S-Tab",
        "previous",
        Op::PrevField,
    ),
    FORM_PANE,
    b(&[ctrl('s')], "^S", "submit", Op::Submit),
    b(&[code(KeyCode::Esc)], "Esc", "leave form", Op::StopEditing),
    b(&[ctrl('u')], "^U", "clear", Op::ClearField),
    b(&[], "←/→", "move", Op::Typing),
    b(&[], "Del/⌫", "delete", Op::Typing),
    hidden(&[], "Home/End", "start/end", Op::Typing),
    hidden(&[], "^←/^→", "word", Op::Typing),
    hidden(&[], "^W", "delete word before", Op::Typing),
    hidden(&[], "^K", "delete to end", Op::Typing),
];

/// On a choice or yes/no field while editing the form.
const CHOOSING: &[Binding] = &[
    b(
        &[
            code(KeyCode::Tab),
            code(KeyCode::Enter),
            code(KeyCode::Down),
        ],
        "Tab",
        "next field",
        Op::NextField,
    ),
    b(
        &[code(KeyCode::BackTab), code(KeyCode::Up)],
        "S-Tab",
        "previous",
        Op::PrevField,
    ),
    FORM_PANE,
    b(&[ctrl('s')], "^S", "submit", Op::Submit),
    b(&[code(KeyCode::Esc)], "Esc", "leave form", Op::StopEditing),
    b(&[code(KeyCode::Left)], "←", "previous choice", Op::Left),
    b(&[code(KeyCode::Right)], "→", "next choice", Op::Right),
    b(&[], "Space", "cycle", Op::Typing),
];

const FILTER: &[Binding] = &[
    b(&[code(KeyCode::Enter)], "Enter", "keep filter", Op::Choose),
    b(&[code(KeyCode::Esc)], "Esc", "clear filter", Op::Back),
];

const PLAN_EDITOR: &[Binding] = &[
    b(&[code(KeyCode::Enter)], "Enter", "save plan", Op::Choose),
    b(&[code(KeyCode::Esc)], "Esc", "cancel", Op::Back),
];

const CONFIRM: &[Binding] = &[
    b(&[k('y')], "y", "yes", Op::Yes),
    b(&[k('n'), code(KeyCode::Esc)], "n/Esc", "no", Op::No),
];

const PICKER: &[Binding] = &[
    hidden(&[code(KeyCode::Up), k('k')], "↑/k", "up", Op::Up),
    hidden(&[code(KeyCode::Down), k('j')], "↓/j", "down", Op::Down),
    b(&[code(KeyCode::Enter)], "Enter", "choose", Op::Choose),
    b(&[code(KeyCode::Esc)], "Esc", "back", Op::Back),
];

const DETAIL: &[Binding] = &[
    hidden(&[code(KeyCode::Up), k('k')], "↑/k", "scroll up", Op::Up),
    hidden(
        &[code(KeyCode::Down), k('j')],
        "↓/j",
        "scroll down",
        Op::Down,
    ),
    b(
        &[code(KeyCode::Esc), code(KeyCode::Enter), k('q')],
        "Esc",
        "close",
        Op::Back,
    ),
];

const HELP: &[Binding] = &[b(
    &[code(KeyCode::Esc), k('?'), k('q')],
    "Esc",
    "close help",
    Op::Back,
)];

pub fn table(scope: Scope) -> &'static [Binding] {
    match scope {
        Scope::Global => GLOBAL,
        Scope::Pane(pane) => pane.def().keys,
        Scope::Editing => EDITING,
        Scope::Choosing => CHOOSING,
        Scope::Filter => FILTER,
        Scope::PlanEditor => PLAN_EDITOR,
        Scope::Confirm => CONFIRM,
        Scope::Picker => PICKER,
        Scope::Detail => DETAIL,
        Scope::Help => HELP,
    }
}

/// The op a key asks for within the given scopes, first match wins.
pub fn lookup(scopes: &[Scope], key: &KeyEvent) -> Option<Op> {
    let pressed = Key {
        code: key.code,
        ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
        alt: key.modifiers.contains(KeyModifiers::ALT),
    };
    scopes
        .iter()
        .flat_map(|s| table(*s).iter())
        .find(|binding| binding.keys.contains(&pressed))
        .map(|binding| binding.op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_within_what_one_mode_sees() {
        for pane in Pane::all() {
            let mut seen: Vec<(Key, Op)> = Vec::new();
            for binding in table(Scope::Pane(pane)).iter().chain(GLOBAL) {
                for key in binding.keys {
                    if let Some((_, op)) = seen.iter().find(|(k, _)| k == key) {
                        // A pane may take over a global key only to mean the same thing.
                        assert_eq!(*op, binding.op, "{pane:?}: {key:?} bound twice");
                    }
                    seen.push((*key, binding.op));
                }
            }
        }
    }
}
