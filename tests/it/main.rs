//! The integration tests, one module per area, in one test binary: each binary links the whole
//! crate and its dependencies, so one instead of one per file is most of a fresh build's link
//! time. The shared helpers (`common`, the console driver `console`) are declared once here.
//! Run one area with `cargo test --test it AREA::` (e.g. `cargo test --test it serve_api::`).

mod common;
mod console;

mod browser;
mod busy;
mod check_backup;
mod ci_script;
mod cli_headless_help;
mod clock_and_output;
mod concurrency;
mod console_delivery;
mod crash;
mod delivery;
mod delivery_relays;
mod delivery_truth;
mod engine_bad_input;
mod engine_dispatch_rules;
mod engine_lifecycle;
mod engine_scheduling;
mod first_day;
mod foreign_files;
mod headless_golden;
mod headless_limits;
mod headless_race;
mod history_cost;
mod hostile_input;
mod layering;
mod logging;
mod migrations;
mod pages;
mod pg_backend;
mod pg_commands;
mod pg_connect;
mod pg_crash;
mod pg_hosts;
mod pg_plans;
mod prune;
mod readme_examples;
mod schema_enums;
mod seeds;
mod serve_api;
mod serve_console;
mod serve_hostile;
mod serve_race;
mod serve_trust;
mod simulate;
mod strict_input;
mod tui_editing;
mod tui_first_day;
mod tui_flow;
mod tui_hostile_text;
mod tui_panes;
mod tui_smoke;
mod tui_snapshots;
mod wal;
