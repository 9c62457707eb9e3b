//! `.ci/run` runs the PostgreSQL passes by naming test modules; a module added later, or
//! renamed, must not silently drop out of them (its engine would never meet PostgreSQL in CI),
//! and a name that no longer is a module would filter nothing. Read from the files themselves.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `name::` filters of the `.ci/run` commands that begin with `prefix` (backslash
/// continuations joined), all together.
fn filters_of(prefix: &str) -> BTreeSet<String> {
    let script = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let script = script.replace("\\\n", " ");
    let filters: BTreeSet<String> = script
        .lines()
        .filter(|l| l.trim_start().starts_with(prefix))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|word| word.strip_suffix("::"))
        .map(str::to_owned)
        .collect();
    assert!(
        !filters.is_empty(),
        ".ci/run has no command beginning `{prefix}`"
    );
    filters
}

/// Every module of this crate with its source.
fn modules() -> Vec<(String, String)> {
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/it")).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // Not main.rs, nor this module, which names the markers it looks for.
        if path.extension().is_some_and(|e| e == "rs") && !["main", "ci_script"].contains(&name) {
            let text = std::fs::read_to_string(&path).unwrap();
            modules.push((name.to_owned(), text));
        }
    }
    modules.sort();
    modules
}

/// A module whose database follows `PITWALL_TEST_BACKEND`: it calls one of the helpers that
/// read it (as a whole word: `reaches_the_engine()` is no call of `engine()`).
fn follows_the_backend(text: &str) -> bool {
    ["engine()", "database_in(", "pg::backend()"]
        .iter()
        .any(|hook| {
            text.match_indices(hook).any(|(at, _)| {
                !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
}

#[test]
fn the_postgres_pass_names_every_module_that_uses_the_backend() {
    let listed = filters_of("PITWALL_TEST_BACKEND=postgres cargo test");
    let modules = modules();
    let wanted: BTreeSet<String> = modules
        .iter()
        .filter(|(name, text)| !name.starts_with("pg_") && follows_the_backend(text))
        .map(|(name, _)| name.clone())
        .collect();
    // Sanity: the hooks are found at all (else the comparison below would prove nothing).
    assert!(wanted.contains("engine_lifecycle"), "{wanted:?}");
    assert_eq!(
        listed, wanted,
        ".ci/run's PITWALL_TEST_BACKEND=postgres pass must name exactly the modules that use the backend"
    );
}

#[test]
fn the_postgres_only_pass_names_every_module_of_postgres_tests() {
    let listed = filters_of("cargo test --locked --test it -- --ignored");
    let modules = modules();
    let wanted: BTreeSet<String> = modules
        .iter()
        .filter(|(_, text)| text.contains("needs PITWALL_TEST_POSTGRES"))
        .map(|(name, _)| name.clone())
        .collect();
    assert!(wanted.contains("pg_backend"), "{wanted:?}");
    let missing: Vec<&String> = wanted.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "{missing:?} hold PostgreSQL tests but no `--ignored` pass of .ci/run names them"
    );
    for name in &listed {
        assert!(
            modules.iter().any(|(module, _)| module == name),
            ".ci/run names {name}::, which is no module of tests/it"
        );
    }
}
