//! The `pitwall` command line (SPEC §11): thin — parse flags, set up logging, hand over.

use std::io::{BufReader, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use pitwall::clock::Clock;
use pitwall::engine::Engine;

#[derive(Parser)]
#[command(
    name = "pitwall",
    about = "Dispatcher console for remote car diagnostics",
    disable_version_flag = true
)]
struct Cli {
    /// Database file, or a PostgreSQL server as postgres://user@host/dbname?sslmode=require
    /// (default: the PITWALL_DB environment variable, else pitwall.db in the user's data
    /// directory; for `headless`, a new in-memory database). A server's password is best left
    /// out of it: PGPASSWORD, ~/.pgpass or PITWALL_DB keep it out of the process list.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Config file: delivery transports, serve's limits, retention (default: pitwall.toml in
    /// the data directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Print the version and the data, database and log paths.
    #[arg(long, short = 'V')]
    version: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// JSON-lines scripting interface: one command per line in, one response per line out.
    /// Without --db it runs on a new in-memory database.
    Headless {
        /// Read commands from this file instead of stdin.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Clock: manual (moved only by `advance`; the default) or system time. On a database
        /// file a console also uses, choose `system`: the manual clock's times are not now.
        #[arg(long, value_enum)]
        clock: Option<ClockKind>,
        /// Start time of the manual clock (RFC 3339), default 2026-01-05T14:00:00Z.
        #[arg(long)]
        start: Option<String>,
    },
    /// Check the database: SQLite integrity and the domain invariants. Exit 1 on a violation.
    Check {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent copy of the database to PATH (safe while consoles are running).
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// Deliver due notifications from the outbox until stopped.
    Relay {
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
    },
    /// The HTTP API (booking forms, mechanics' phones), with the tick loop and the relay.
    /// Stops cleanly on Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on (port 0: any free port; the bound address is printed).
        #[arg(long, default_value = pitwall::serve::DEFAULT_LISTEN)]
        listen: String,
    },
    /// Print a completion script for a shell (bash, zsh, fish, elvish or powershell), e.g.
    /// `pitwall completions bash > ~/.local/share/bash-completion/completions/pitwall`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `pitwall man > pitwall.1 && man ./pitwall.1`.
    Man,
    /// Print a new webhook signing secret (whsec_ and base64 of 32 random bytes) for the
    /// config's `[delivery] secret`.
    Secret,
    /// API tokens for `pitwall serve`: create, list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenCmd,
    },
    /// Simulate a day of dispatch on the manual clock and print what it comes to, with the
    /// day hour by hour.
    /// Without --db it runs on a new in-memory database with the demo roster; with --db the
    /// file must be new, and `pitwall report` / `pitwall check` read it afterwards.
    Simulate {
        /// Simulated hours (from Monday 2026-01-05 14:00 UTC, 9:00 in Toronto).
        #[arg(long, default_value_t = 8.0)]
        hours: f64,
        #[command(flatten)]
        day: DayArgs,
        /// Run the same arrivals and behaviours twice, smart matching on and off, side by side.
        #[arg(long)]
        compare: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The console on a fresh demo database of its own, with a simulated day running live.
    /// The day is one the demo roster works: today at 14:00 UTC, or on a weekend the coming
    /// Monday (the header shows its date). Never touches the default database.
    Demo {
        /// How much faster than real time the demo's clock runs (1–1000).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        #[command(flatten)]
        day: DayArgs,
    },
    /// Print the success metrics computed from the database.
    Report {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Count only sessions made from this day (YYYY-MM-DD, UTC) or time (RFC 3339) on;
        /// only that period is read.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// Remove old history: sessions finished (completed or cancelled) more than DAYS ago, with
    /// their intake, offers, audit events, messages and waitlist entries, and delivered
    /// messages and audit events of no session as old. Live, waiting, scheduled and recent
    /// sessions stay. Runs in short transactions, safe while pitwall is in use.
    Prune {
        /// Keep what finished in the last DAYS days.
        #[arg(long, value_name = "DAYS", allow_hyphen_values = true)]
        older_than: String,
        /// First append each removed session to FILE as one JSON line (session, intake, offers,
        /// events, messages, waitlist entries). A crash leaves a session either archived and
        /// removed, or neither.
        #[arg(long, value_name = "FILE")]
        archive: Option<PathBuf>,
        /// Then give the space back: SQLite rewrites the file (writers wait meanwhile);
        /// PostgreSQL marks it reusable (VACUUM; its files shrink only with VACUUM FULL).
        #[arg(long)]
        vacuum: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Make a token; it is printed once, alone on one line, and never shown again.
    Create {
        /// dispatcher, mechanic or intake.
        #[arg(long)]
        role: String,
        /// The mechanic a mechanic token acts for.
        #[arg(long)]
        mechanic: Option<String>,
        /// A note for `token list` (who or what uses it).
        #[arg(long)]
        label: Option<String>,
    },
    /// Every token: id, role, mechanic, label, created, last used, revoked. Never a token.
    List {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; the next request with it is refused.
    Revoke { id: String },
    /// Make a sign-in link for a mechanic's phone: opening it signs the phone in to his page,
    /// /m (a mechanic token kept in a cookie; `token list` shows it, `token revoke` ends it).
    /// The link is printed once, alone on one line, under `[serve] public_url` (default
    /// http://127.0.0.1:7878).
    Link {
        /// The mechanic the phone acts for.
        #[arg(long)]
        mechanic: String,
        /// A note for `token list` (default "sign-in link").
        #[arg(long)]
        label: Option<String>,
    },
}

/// What makes a simulated day, for `simulate` and `demo` alike.
#[derive(clap::Args)]
struct DayArgs {
    /// Mean customer arrivals per simulated hour (a Poisson process).
    #[arg(long, default_value_t = 30.0)]
    arrivals_per_hour: f64,
    /// The same seed gives the same day, line for line.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Behaviour parameters (TOML; see docs/simulation.md, "The behaviour model"); keys not given keep
    /// their defaults.
    #[arg(long)]
    params: Option<PathBuf>,
}

impl DayArgs {
    /// The simulation's options, with the params file read and every value checked; a bad
    /// one is a coded error naming it, and nothing runs.
    fn options(self, hours: f64) -> Result<pitwall::sim::Options, ExitCode> {
        let options = pitwall::sim::Options {
            hours,
            arrivals_per_hour: self.arrivals_per_hour,
            seed: self.seed,
            params: load_params(self.params.as_deref())?,
            smart_matching: true,
        };
        options.check().map_err(|e| {
            fail(&format!(
                "{} ({}): {}",
                e.code.as_str(),
                e.field.as_deref().unwrap_or("-"),
                e.message
            ))
        })?;
        Ok(options)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockKind {
    Manual,
    System,
}

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exit for --help is 0; bad flags are "could not start" (2).
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // `--db` wins; else PITWALL_DB, which keeps a server's password out of the process list.
    if cli.db.is_none() {
        cli.db = pitwall::store::database_from_environment();
    }
    let paths = pitwall::paths::Paths::discover();
    let config_path = cli.config.clone().unwrap_or_else(|| paths.config.clone());
    if cli.version {
        return emit(
            &paths.describe(env!("CARGO_PKG_VERSION"), &config_path),
            ExitCode::SUCCESS,
        );
    }
    // These print what is generated from the flags themselves: no config or database needed.
    match &cli.command {
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "pitwall", &mut out);
            return emit(&String::from_utf8_lossy(&out), ExitCode::SUCCESS);
        }
        Some(Cmd::Man) => {
            let mut out = Vec::new();
            return match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => emit(&String::from_utf8_lossy(&out), ExitCode::SUCCESS),
                Err(e) => fail(&format!("cannot render the manual page: {e}")),
            };
        }
        _ => {}
    }
    if let Some(Cmd::Secret) = cli.command {
        // Before the config is read: a config whose secret has an old form is when one is needed.
        return match pitwall::delivery::config::new_webhook_secret() {
            Ok(secret) => emit(&format!("{secret}\n"), ExitCode::SUCCESS),
            Err(e) => fail(&e),
        };
    }
    // Every command reads the config (SPEC §8): a bad file stops it before anything is opened.
    let config = match pitwall::delivery::Config::load(&config_path, cli.config.is_some()) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e.to_string()),
    };
    match cli.command {
        Some(Cmd::Headless {
            script,
            clock,
            start,
        }) => headless(cli.db, script, clock, start, &config),
        Some(Cmd::Relay { once }) => relay(
            cli.db.unwrap_or_else(|| paths.database.clone()),
            once,
            &config,
        ),
        Some(Cmd::Serve { listen }) => serve(
            cli.db.unwrap_or_else(|| paths.database.clone()),
            &listen,
            &config,
        ),
        Some(Cmd::Token { action }) => {
            let base = pitwall::links::public_base(
                config.config.serve.public_url.as_deref(),
                pitwall::serve::DEFAULT_LISTEN,
            );
            token(
                cli.db.unwrap_or_else(|| paths.database.clone()),
                action,
                &base,
            )
        }
        Some(Cmd::Secret | Cmd::Completions { .. } | Cmd::Man) => {
            unreachable!("answered before the config is read")
        }
        Some(Cmd::Report { json, since }) => report(
            cli.db.unwrap_or_else(|| paths.database.clone()),
            json,
            since,
        ),
        Some(Cmd::Prune {
            older_than,
            archive,
            vacuum,
            json,
        }) => prune(
            cli.db.unwrap_or_else(|| paths.database.clone()),
            &older_than,
            archive.as_deref(),
            vacuum,
            json,
        ),
        Some(Cmd::Check { json }) => check(cli.db.unwrap_or_else(|| paths.database.clone()), json),
        Some(Cmd::Backup { path }) => {
            let db = cli.db.unwrap_or_else(|| paths.database.clone());
            match pitwall::admin::backup(&db, &path) {
                Ok(()) => emit(
                    &format!("backed up {} to {}\n", db.display(), path.display()),
                    ExitCode::SUCCESS,
                ),
                Err(e) => fail(&e.message),
            }
        }
        Some(Cmd::Simulate {
            hours,
            day,
            compare,
            json,
        }) => match day.options(hours) {
            Ok(options) => simulate(cli.db, options, compare, json),
            Err(code) => code,
        },
        Some(Cmd::Demo { speed, day }) => {
            if cli.db.is_some() {
                return fail("demo always runs on a fresh database of its own; leave out --db");
            }
            match day.options(pitwall::sim::MAX_HOURS) {
                Ok(options) => demo(speed, options, &paths),
                Err(code) => code,
            }
        }
        None => console(cli.db, &paths, &config),
    }
}

fn headless(
    db: Option<PathBuf>,
    script: Option<PathBuf>,
    clock: Option<ClockKind>,
    start: Option<String>,
    config: &pitwall::delivery::Loaded,
) -> ExitCode {
    let manual_by_default = clock.is_none();
    let start_text = start.clone();
    let clock = match (clock.unwrap_or(ClockKind::Manual), start) {
        (ClockKind::System, Some(_)) => return fail("--start only applies to the manual clock"),
        (ClockKind::System, None) => Clock::System,
        (ClockKind::Manual, None) => Clock::manual_default(),
        (ClockKind::Manual, Some(s)) => match DateTime::parse_from_rfc3339(&s) {
            // An offset can put a 9999 date past the end in UTC.
            Ok(t) if t.with_timezone(&Utc) > pitwall::clock::end_of_time() => {
                return fail(&format!(
                    "--start {s:?} is after 9999-12-31T23:59:59Z, the last time pitwall keeps"
                ));
            }
            Ok(t) => Clock::Manual(t.with_timezone(&Utc)),
            Err(e) => return fail(&format!("--start {s:?} is not an RFC 3339 time: {e}")),
        },
    };
    let relay = match pitwall::delivery::Relay::new(&config.config) {
        Ok(relay) => relay,
        Err(e) => return fail(&format!("config {}: {e}", config.path.display())),
    };
    let mut engine = match Engine::open(db.as_deref(), clock) {
        Ok(engine) => engine,
        Err(e) => return fail(&e.to_string()),
    };
    engine.set_relay(relay);
    // The manual clock stays the default (scripts and tests replay the same times), but on a
    // file, where a console on real time may read the same sessions, it is said once.
    if manual_by_default && db.is_some() {
        let start = start_text.as_deref().unwrap_or("2026-01-05T14:00:00Z");
        let _ = writeln!(
            std::io::stderr(),
            "pitwall headless: on the manual clock from {start}, not the time now: a console on \
             this file runs on real time and sees these offers' deadlines as they are \
             (likely past). Add --clock system to use real time, or --clock manual to keep \
             this clock without this note."
        );
    }
    let stdout = std::io::stdout().lock();
    let result = match script {
        Some(path) => match std::fs::File::open(&path) {
            Ok(file) => pitwall::headless::run(&mut engine, BufReader::new(file), stdout),
            Err(e) => return fail(&format!("cannot read script {}: {e}", path.display())),
        },
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                let _ = writeln!(
                    std::io::stderr(),
                    "pitwall headless: reading JSON commands from the terminal; Ctrl-D ends."
                );
            }
            pitwall::headless::run(&mut engine, stdin.lock(), stdout)
        }
    };
    match result {
        Ok(summary) => ExitCode::from(summary.exit_code() as u8),
        // Output closed (a coprocess went away): the commands it saw were all answered.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(std::io::stderr(), "pitwall: output closed; stopped reading");
            ExitCode::from(1)
        }
        Err(e) => fail(&format!("I/O error: {e}")),
    }
}

/// `pitwall relay`: passes every second (at once again while rows keep coming), each printed
/// as one JSON line when it did something; `--once` runs one pass and exits (1 if a row failed).
fn relay(db: PathBuf, once: bool, config: &pitwall::delivery::Loaded) -> ExitCode {
    if let Some(why) = pitwall::store::path_problem(&db, false) {
        return fail(&format!("cannot open database {}: {why}", db.display()));
    }
    let relay = match pitwall::delivery::Relay::new(&config.config) {
        Ok(relay) => relay,
        Err(e) => return fail(&format!("config {}: {e}", config.path.display())),
    };
    let conn = match pitwall::store::open(Some(&db)) {
        Ok(conn) => conn,
        Err(e) => return fail(&e.to_string()),
    };
    if relay.routes().is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "pitwall relay: no delivery transports in {}{}; rows stay pending",
            config.path.display(),
            if config.found { "" } else { " (no such file)" }
        );
    }
    let mut warned_no_transport = Vec::new();
    let code = pitwall::delivery::run(
        &relay,
        &conn,
        std::time::Duration::from_millis(250),
        || true,
        |pass| {
            let report = match pass {
                Ok(report) => report,
                // Another process holds the write lock: the next pass comes after the pause.
                Err(e) if e.is_busy() && !once => return ControlFlow::Continue(()),
                Err(e) => return ControlFlow::Break(fail(&format!("relay: {e}"))),
            };
            for route in &report.no_transport {
                if !warned_no_transport.contains(route) {
                    warned_no_transport.push(*route);
                    let _ = writeln!(
                        std::io::stderr(),
                        "pitwall relay: {route} notifications wait: no transport for {route} in the config"
                    );
                }
            }
            if !report.is_empty() || once {
                let line = serde_json::to_string(&report).expect("plain data") + "\n";
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return ControlFlow::Break(ExitCode::from(1));
                }
            }
            if once {
                let failed = !report.retrying.is_empty() || !report.dead.is_empty();
                return ControlFlow::Break(if failed {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                });
            }
            ControlFlow::Continue(())
        },
    );
    code.unwrap_or(ExitCode::SUCCESS)
}

/// `pitwall serve`: logs to stderr (a service manager keeps them), the bound address on stdout.
fn serve(db: PathBuf, listen: &str, config: &pitwall::delivery::Loaded) -> ExitCode {
    if let Some(why) = pitwall::store::path_problem(&db, true) {
        return fail(&format!("cannot open database {}: {why}", db.display()));
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .try_init();
    if let Err(e) = open_with_demo_roster(&db) {
        return fail(&e);
    }
    match pitwall::serve::run(&db, listen, config.config.clone()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `pitwall token …`: a refused input is a coded error on stderr and exit 1.
fn token(db: PathBuf, action: TokenCmd, base: &str) -> ExitCode {
    let create = matches!(action, TokenCmd::Create { .. } | TokenCmd::Link { .. });
    if let Some(why) = pitwall::store::path_problem(&db, create) {
        return fail(&format!("cannot open database {}: {why}", db.display()));
    }
    if create && let Err(e) = open_with_demo_roster(&db) {
        return fail(&e);
    }
    let conn = match pitwall::store::open(Some(&db)) {
        Ok(conn) => conn,
        Err(e) => return fail(&e.to_string()),
    };
    let refused = |e: pitwall::error::DispatchError| {
        let _ = writeln!(
            std::io::stderr(),
            "pitwall token: {}{}: {}",
            e.code.as_str(),
            e.field.map(|f| format!(" ({f})")).unwrap_or_default(),
            e.message
        );
        ExitCode::from(1)
    };
    let now = Utc::now();
    match action {
        TokenCmd::Create {
            role,
            mechanic,
            label,
        } => {
            match pitwall::tokens::create(&conn, &role, mechanic.as_deref(), label.as_deref(), now)
            {
                Ok((id, token)) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "pitwall token: created {id}; the token below is shown only now"
                    );
                    emit(&format!("{token}\n"), ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        TokenCmd::List { json } => match pitwall::tokens::list(&conn) {
            Ok(tokens) if json => emit(
                &(serde_json::to_string_pretty(&tokens).expect("plain data") + "\n"),
                ExitCode::SUCCESS,
            ),
            Ok(tokens) => emit(&pitwall::tokens::list_text(&tokens), ExitCode::SUCCESS),
            Err(e) => refused(e),
        },
        TokenCmd::Link { mechanic, label } => {
            let label = label.unwrap_or_else(|| "sign-in link".to_string());
            match pitwall::tokens::create(&conn, "mechanic", Some(&mechanic), Some(&label), now) {
                Ok((id, token)) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "pitwall token: created {id} for {mechanic}'s phone; the link below is \
                         shown only now (`pitwall token revoke {id}` signs the phone out)"
                    );
                    let url = pitwall::links::sign_in_url(base, &token);
                    emit(&format!("{url}\n"), ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        TokenCmd::Revoke { id } => match pitwall::tokens::revoke(&conn, &id, now) {
            Ok(()) => emit(&format!("revoked {id}\n"), ExitCode::SUCCESS),
            Err(e) => refused(e),
        },
    }
}

fn check(db: PathBuf, json: bool) -> ExitCode {
    match pitwall::admin::check(&db) {
        Ok(report) => {
            let text = if json {
                serde_json::to_string_pretty(&report).expect("plain data") + "\n"
            } else {
                report.to_text()
            };
            let code = if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            emit(&text, code)
        }
        Err(e) => fail(&e),
    }
}

fn report(db: PathBuf, json: bool, since: Option<String>) -> ExitCode {
    let since = match since.as_deref().map(parse_since).transpose() {
        Ok(since) => since,
        Err(why) => return fail(&why),
    };
    if let Some(why) = pitwall::store::path_problem(&db, false) {
        return fail(&format!("cannot open database {}: {why}", db.display()));
    }
    let mut engine = match Engine::open(Some(&db), Clock::System) {
        Ok(engine) => engine,
        Err(e) => return fail(&e.to_string()),
    };
    match engine.report_since(since) {
        Ok(metrics) if json => emit(
            &(serde_json::to_string_pretty(&metrics).expect("plain data") + "\n"),
            ExitCode::SUCCESS,
        ),
        Ok(metrics) => emit(&metrics.to_text(), ExitCode::SUCCESS),
        Err(e) => fail(&e.message),
    }
}

/// `--since`: a day (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "invalid_input (since): --since takes a day (2026-01-31) or a time \
                 (2026-01-31T09:00:00Z), not {text:?}"
            )
        })
}

/// `pitwall prune`: progress on stderr when it is a terminal, what was done on stdout.
fn prune(
    db: PathBuf,
    older_than: &str,
    archive: Option<&Path>,
    vacuum: bool,
    json: bool,
) -> ExitCode {
    let days = match pitwall::prune::days(older_than) {
        Ok(days) => days,
        Err(e) => return fail(&e.to_string()),
    };
    if let Some(why) = pitwall::store::path_problem(&db, false) {
        return fail(&format!("cannot open database {}: {why}", db.display()));
    }
    let tty = std::io::stderr().is_terminal();
    let mut progress = |r: &pitwall::engine::prune::PruneReport| {
        if tty && r.steps.is_multiple_of(20) {
            let _ = write!(
                std::io::stderr(),
                "\rpitwall prune: {} sessions removed…",
                r.removed.sessions
            );
        }
    };
    let result = pitwall::prune::run(&db, days, archive, vacuum, &mut progress);
    if tty {
        let _ = writeln!(std::io::stderr());
    }
    match result {
        Ok(outcome) if json => emit(
            &(serde_json::to_string_pretty(&outcome).expect("plain data") + "\n"),
            ExitCode::SUCCESS,
        ),
        Ok(outcome) => emit(&outcome.to_text(), ExitCode::SUCCESS),
        Err(e) => fail(&e.to_string()),
    }
}

/// Opens (creating when new) a database for the console, `serve` or `token create`: one that
/// nobody has used yet (no events at all) gets the demo roster, in one transaction, so whichever
/// of them a user runs first the others find the same mechanics. `headless` and `simulate` start
/// from an empty database instead: a script brings its own roster. A crash before the roster
/// committed simply seeds again next time.
fn open_with_demo_roster(db: &Path) -> Result<(), String> {
    let mut engine = Engine::open(Some(db), Clock::System).map_err(|e| e.to_string())?;
    match engine.seed_if_unused(pitwall::DEMO_ROSTER) {
        Ok(true) => {
            tracing::info!(db = %pitwall::store::describe(db), "new database: loaded the demo roster");
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err(format!("cannot load the demo roster: {}", e.message)),
    }
}

/// The console: default database in the data directory, created with the demo roster on first
/// run; logs to a rolling file there, never to the screen.
fn console(
    db: Option<PathBuf>,
    paths: &pitwall::paths::Paths,
    config: &pitwall::delivery::Loaded,
) -> ExitCode {
    // Before the database: without a terminal the console cannot start, and a new file must not
    // get the schema and the demo roster on the way to saying so.
    let tty = std::io::stdout().is_terminal()
        && (std::io::stdin().is_terminal() || std::fs::File::open("/dev/tty").is_ok());
    if !tty {
        return fail(
            "the console needs a terminal; for scripts use pitwall headless, pitwall report or \
             pitwall check",
        );
    }
    if let Err(e) = paths.create_private_dirs() {
        return fail(&format!("cannot create {}: {e}", paths.data_dir.display()));
    }
    let _log_guard = pitwall::paths::start_file_logging(&paths.log_dir);
    let db = db.unwrap_or_else(|| paths.database.clone());
    if let Err(e) = open_with_demo_roster(&db) {
        return fail(&e);
    }
    let relay = match pitwall::delivery::Relay::new(&config.config) {
        Ok(relay) => relay,
        Err(e) => return fail(&format!("config {}: {e}", config.path.display())),
    };
    let retention = match pitwall::archive::retention(&config.config.retention) {
        Ok(retention) => retention,
        Err(e) => return fail(&format!("config {}: {e}", config.path.display())),
    };
    match pitwall::tui::run(&db, relay, retention) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Reads `--params FILE` (the defaults without one); a bad file is a coded error naming the key.
fn load_params(path: Option<&std::path::Path>) -> Result<pitwall::sim::Params, ExitCode> {
    path.map_or_else(
        || Ok(pitwall::sim::Params::default()),
        |path| pitwall::sim::Params::load(path).map_err(|e| fail(&e)),
    )
}

/// `pitwall simulate`: one run, or two side by side with `--compare`.
fn simulate(
    db: Option<PathBuf>,
    options: pitwall::sim::Options,
    compare: bool,
    json: bool,
) -> ExitCode {
    if compare && db.is_some() {
        return fail("--compare runs two days on two in-memory databases; leave out --db");
    }
    let run = |smart_matching: bool| {
        pitwall::sim::run_on_new_database(
            db.as_deref(),
            pitwall::sim::Options {
                smart_matching,
                ..options.clone()
            },
        )
    };
    let on = match run(true) {
        Ok(outcome) => outcome,
        Err(e) => return fail(&e),
    };
    let _ = writeln!(std::io::stderr(), "pitwall simulate: {}", on.timing_line());
    if !compare {
        let text = if json { on.to_json() } else { on.to_text() };
        return emit(&text, ExitCode::SUCCESS);
    }
    let off = match run(false) {
        Ok(outcome) => outcome,
        Err(e) => return fail(&e),
    };
    let _ = writeln!(
        std::io::stderr(),
        "pitwall simulate (smart matching off): {}",
        off.timing_line()
    );
    let both = pitwall::sim::summary::Comparison {
        smart_matching_on: &on,
        smart_matching_off: &off,
    };
    let text = if json { both.to_json() } else { both.to_text() };
    emit(&text, ExitCode::SUCCESS)
}

/// `pitwall demo`: the console on a new database in a private temporary folder, removed at the
/// end, with the simulation live beside the dispatcher on a clock `speed` times real time.
fn demo(speed: f64, options: pitwall::sim::Options, paths: &pitwall::paths::Paths) -> ExitCode {
    if !(1.0..=1000.0).contains(&speed) {
        return fail("invalid_input (speed): --speed must be between 1 and 1000");
    }
    let tty = std::io::stdout().is_terminal()
        && (std::io::stdin().is_terminal() || std::fs::File::open("/dev/tty").is_ok());
    if !tty {
        return fail(
            "the demo needs a terminal; for a simulated day without one use pitwall simulate",
        );
    }
    if let Err(e) = paths.create_private_dirs() {
        return fail(&format!("cannot create {}: {e}", paths.data_dir.display()));
    }
    let _log_guard = pitwall::paths::start_file_logging(&paths.log_dir);
    match pitwall::sim::live::demo(speed, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Writes a command's output to stdout. A full disk or a closed pipe ends the command with an
/// error exit and a message, never a panic (`print!` panics when stdout cannot be written).
fn emit(text: &str, code: ExitCode) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(e) => fail(&format!("cannot write the output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    // Not eprintln!, which panics when stderr is closed too.
    let _ = writeln!(std::io::stderr(), "pitwall: {message}");
    ExitCode::from(2)
}
