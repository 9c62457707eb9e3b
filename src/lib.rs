//! pitwall: a terminal dispatcher console for a remote car-diagnostics service.
//!
//! One engine ([`engine::Engine`]) over one SQLite file ([`store`]), with pure matching
//! ([`matching`]) and an injected [`clock::Clock`]; two front ends drive it with the same
//! [`command::Command`]s: the headless JSON-lines mode and the console.

pub mod admin;
pub mod archive;
pub mod clock;
pub mod command;
pub mod command_table;
pub mod country;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod headless;
pub mod ids;
pub mod json;
pub mod links;
pub mod matching;
pub mod model;
pub mod paths;
pub mod prune;
pub mod random;
pub mod report;
pub mod schedule;
pub mod seeds;
pub mod serve;
pub mod sim;
pub mod store;
pub mod synth;
pub mod text;
pub mod tokens;
pub mod tui;
pub mod zone;

/// The demo roster, embedded so a fresh install has mechanics to dispatch to.
pub const DEMO_ROSTER: &str = include_str!("../seeds/mechanics.json");
