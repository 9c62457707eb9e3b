//! The crate's layering, checked from the source text: every `crate::…`, `super::…` and
//! `self::…` path in `src/**/*.rs` (tests excluded) becomes an arrow from its file to the file
//! that defines the module it names. The test fails on
//!
//! - a circle between two or more files (a child naming its parent, `super::Ctx`, is
//!   structure, not an arrow; arrows listed as known exceptions are left out), and
//! - an arrow against the layers below: a file may name its own top-level module and those of a
//!   lower layer, never one of its own layer or above.
//!
//! It reads text, not the compiler's resolution, so it is deliberately simple: what it cannot
//! resolve to a module file (a name from `std` or a crate) is no arrow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom up (DESIGN.md "The shape"): each may use its own
/// layer and the layers below it (circles within a layer are the other test's). Pure helpers and the data model at the bottom; matching
/// (pure) and the store (all SQL) above them, side by side and blind to each other's users;
/// the relay and reports over the store; the engine over all of that; the front ends on top.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "clock",
            "ids",
            "text",
            "country",
            "paths",
            "json",
            "command_table",
            "random",
        ],
    ),
    ("rules without I/O", &["zone", "schedule", "error", "links"]),
    ("model", &["model"]),
    ("matching and storage", &["matching", "store"]),
    ("commands", &["command", "tokens"]),
    (
        "services over the store",
        &["delivery", "report", "admin", "seeds"],
    ),
    ("engine", &["engine"]),
    ("tools over the engine", &["synth", "prune", "archive"]),
    ("front ends", &["headless", "tui", "serve"]),
    ("the simulator, which drives the console", &["sim"]),
    ("crate root", &["lib"]),
];

/// Arrows that break the layers today and that other work in progress removes. Add a line only
/// with the fix that will take it out; the test then holds the line. (Empty since `RELEASE_AHEAD`
/// moved to model.rs and `error.rs` became a leaf.)
const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&top))
}

/// A source file and the module path it defines (`src/engine/mod.rs` → `["engine"]`).
struct SourceFile {
    path: String,
    module: Vec<String>,
    text: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect(&root.join("src"), &mut paths);
    let test_only = test_only_files(root);
    paths
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // The binary is its own crate: `crate::` there means main.rs.
            if rel == "src/main.rs" || rel.starts_with("src/bin/") || test_only.contains(&rel) {
                return None;
            }
            let inner = rel.trim_start_matches("src/").trim_end_matches(".rs");
            let mut module: Vec<String> = inner.split('/').map(str::to_string).collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            Some(SourceFile {
                path: rel,
                module,
                text,
            })
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Files declared as `#[cfg(test)] mod name;`: unit tests, free to reach anywhere.
fn test_only_files(root: &Path) -> BTreeSet<String> {
    let mut paths = Vec::new();
    collect(&root.join("src"), &mut paths);
    let mut out = BTreeSet::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for w in lines.windows(2) {
            let decl = w[1].trim();
            if w[0].trim() == "#[cfg(test)]" && decl.starts_with("mod ") && decl.ends_with(';') {
                let name = decl.trim_start_matches("mod ").trim_end_matches(';');
                let dir = p.parent().unwrap();
                let stem = p.file_stem().unwrap().to_string_lossy();
                let dir = if stem == "mod" || stem == "lib" || stem == "main" {
                    dir.to_path_buf()
                } else {
                    dir.join(&*stem)
                };
                for candidate in [
                    dir.join(format!("{name}.rs")),
                    dir.join(name).join("mod.rs"),
                ] {
                    let rel = candidate
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    out.insert(rel.replace('\\', "/"));
                }
            }
        }
    }
    out
}

/// The text without comments, string literals and `#[cfg(test)]` items: what names modules in
/// code that ships.
fn code_only(text: &str) -> String {
    let bytes: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = |n: usize| bytes.get(i + n).copied();
        match bytes[i] {
            '/' if rest(1) == Some('/') => {
                while i < bytes.len() && bytes[i] != '\n' {
                    i += 1;
                }
            }
            '/' if rest(1) == Some('*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == '*' && bytes[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            'r' if rest(1) == Some('#') || (rest(1) == Some('"') && !ident_before(&bytes, i)) => {
                // A raw string: r"…", r#"…"#, …
                let mut j = i + 1;
                let mut hashes = 0;
                while bytes.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if bytes.get(j) != Some(&'"') {
                    out.push(bytes[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                'raw: while j < bytes.len() {
                    if bytes[j] == '"' && (0..hashes).all(|h| bytes.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break 'raw;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            '"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != '"' {
                    if bytes[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            '\'' if rest(2) == Some('\'') || (rest(1) == Some('\\')) => {
                // A char literal ('"', '\''); lifetimes ('a) pass through.
                let mut j = i + 1;
                if bytes[j] == '\\' {
                    j += 1;
                }
                j += 1;
                while j < bytes.len() && bytes[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    strip_test_items(&out)
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Removes each `#[cfg(test)]` item: the attribute and what follows up to the end of its block
/// (or its `;`).
fn strip_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every module path the code names, from `use` trees and from paths in expressions, made
/// absolute against the file's own module.
fn named_paths(file: &SourceFile) -> Vec<Vec<String>> {
    let code = code_only(&file.text);
    let mut out = Vec::new();
    // `use` statements, their brace groups expanded.
    let mut rest = code.as_str();
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let Some(end) = after.find(';') else { break };
        let tree = without_renames(&after[..end]);
        for path in expand(&tree) {
            if let Some(abs) = absolute(&file.module, &path) {
                out.push(abs);
            }
        }
        rest = &after[end..];
    }
    // Paths in code: `crate::a::b`, `super::x`, and `child::x` for a module this file declares
    // (`mod child;`), which needs no `self::`.
    let children: Vec<String> = code
        .lines()
        .filter_map(|l| {
            let l = l
                .trim()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(format!("{name}::"))
        })
        .collect();
    let starts = ["crate::", "super::", "self::"]
        .into_iter()
        .map(str::to_string)
        .chain(children);
    for start in starts {
        let start = start.as_str();
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            let before = code[..at].bytes().next_back();
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if !["crate::", "super::", "self::"].contains(&start) {
                segments.insert(0, "self".to_string());
            }
            if let Some(abs) = absolute(&file.module, &segments).filter(|p| !p.is_empty()) {
                out.push(abs);
            }
        }
    }
    out
}

/// A `use` tree without whitespace and without its renames (`a as b` → `a`).
fn without_renames(tree: &str) -> String {
    let mut out = String::new();
    let mut tokens = tree.split_whitespace();
    while let Some(token) = tokens.next() {
        if token == "as" {
            let renamed = tokens.next().unwrap_or("");
            out.extend(
                renamed
                    .chars()
                    .skip_while(|c| c.is_alphanumeric() || *c == '_'),
            );
        } else {
            out.push_str(token);
        }
    }
    out
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let Some(open) = tree.find('{') else {
        return vec![
            tree.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut last) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[last..k]);
                last = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[last..]);
    let mut out = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        for tail in expand(part) {
            let mut path = prefix.clone();
            path.extend(tail.into_iter().filter(|s| s != "self"));
            out.push(path);
        }
    }
    out
}

/// A path made absolute from the crate root, or `None` when it names another crate.
fn absolute(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut segments = path.iter();
    let mut base: Vec<String> = match segments.next()?.as_str() {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => {
            let mut m = module.to_vec();
            m.pop();
            m
        }
        // A child module (`use db::Db` in store/mod.rs) or another crate (`use chrono::Utc`):
        // taken as relative; a name that is no module file resolves to this file and is no
        // arrow.
        first => {
            let mut m = module.to_vec();
            m.push(first.to_string());
            m
        }
    };
    let mut rest: Vec<&String> = segments.collect();
    while rest.first().is_some_and(|s| s.as_str() == "super") {
        base.pop();
        rest.remove(0);
    }
    base.extend(rest.into_iter().cloned());
    Some(base)
}

struct Graph {
    /// File → the files it names, each with one path that shows why.
    arrows: BTreeMap<String, BTreeMap<String, String>>,
}

fn graph() -> Graph {
    let files = source_files();
    let by_module: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (f.module.clone(), f.path.clone()))
        .collect();
    let mut arrows: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let entry = arrows.entry(file.path.clone()).or_default();
        for path in named_paths(file) {
            // The longest prefix of the path that is a module file.
            let target = (0..=path.len())
                .rev()
                .find_map(|n| by_module.get(&path[..n]).map(|t| (n, t)));
            let Some((n, target)) = target else { continue };
            // A module naming itself or one of its ancestors (`super::Ctx`) is structure: a
            // child is part of its parent. So is a name from the crate root (lib.rs declares
            // every module and holds only constants). A parent naming its children's items is
            // an arrow like any other.
            if n == 0 || file.module.starts_with(&path[..n]) {
                continue;
            }
            entry
                .entry(target.clone())
                .or_insert_with(|| path.join("::"));
        }
    }
    Graph { arrows }
}

fn top_module(path: &str) -> String {
    let inner = path.trim_start_matches("src/").trim_end_matches(".rs");
    inner.split('/').next().unwrap_or(inner).to_string()
}

/// Strongly connected components of two or more files (Tarjan).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let targets: Vec<&'g str> =
            s.g.arrows
                .get(v)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.arrows.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let mut g = graph();
    for (from, to) in KNOWN_EXCEPTIONS {
        if let Some(targets) = g.arrows.get_mut(*from) {
            targets.remove(*to);
        }
    }
    let found = circles(&g);
    let described: Vec<String> = found
        .iter()
        .map(|c| {
            let ties: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    let g = &g;
                    c.iter().filter_map(move |b| {
                        g.arrows[a].get(b).map(|why| format!("{a} -> {b} ({why})"))
                    })
                })
                .collect();
            ties.join("; ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles:\n{}",
        described.join("\n")
    );
}

#[test]
fn no_module_imports_against_the_layers() {
    let g = graph();
    let mut against = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (from, targets) in &g.arrows {
        let from_top = top_module(from);
        let Some(from_layer) = layer_of(&from_top) else {
            unplaced.insert(from_top);
            continue;
        };
        for (to, why) in targets {
            let to_top = top_module(to);
            let Some(to_layer) = layer_of(&to_top) else {
                unplaced.insert(to_top);
                continue;
            };
            let allowed = to_layer <= from_layer;
            if !allowed && !KNOWN_EXCEPTIONS.contains(&(from.as_str(), to.as_str())) {
                against.push(format!(
                    "{from} ({}) -> {to} ({}) by {why}",
                    LAYERS[from_layer].0, LAYERS[to_layer].0
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from LAYERS: {unplaced:?}"
    );
    assert!(
        against.is_empty(),
        "imports against the layers:\n{}",
        against.join("\n")
    );
}

#[test]
fn every_known_exception_still_exists() {
    // An exception whose arrow is gone must leave the list, or it would hide its return.
    let g = graph();
    for (from, to) in KNOWN_EXCEPTIONS {
        assert!(
            g.arrows.get(*from).is_some_and(|t| t.contains_key(*to)),
            "{from} -> {to} is gone: remove it from KNOWN_EXCEPTIONS"
        );
    }
}

#[test]
fn the_reader_finds_arrows_and_circles() {
    // The reader itself, on text it must see through: a brace group, a `super` path, a path in
    // an expression, and one inside a comment and a string (which are not arrows).
    let file = SourceFile {
        path: "src/engine/x.rs".into(),
        module: vec!["engine".into(), "x".into()],
        text: "use crate::{model::{Mechanic, WhyNot}, store as s};\nuse super::dispatch;\n\
               // crate::tui::App\nfn f() { let _ = \"crate::serve\"; crate::clock::now(); }\n\
               mod inner;\nfn g() { inner::f(); }\nuse inner::Thing;\n\
               #[cfg(test)]\nmod tests { use crate::tui::App; }\n"
            .into(),
    };
    let named: BTreeSet<String> = named_paths(&file).iter().map(|p| p.join("::")).collect();
    let expected: BTreeSet<String> = [
        "model::Mechanic",
        "model::WhyNot",
        "store",
        "engine::dispatch",
        "clock::now",
        "engine::x::inner::f",
        "engine::x::inner::Thing",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(named, expected);

    let mut arrows: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        arrows
            .entry(a.into())
            .or_default()
            .insert(b.into(), String::new());
        arrows.entry(b.into()).or_default();
    }
    assert_eq!(circles(&Graph { arrows }), vec![vec!["a", "b", "c"]]);
}

/// The first panes of the console are still named outside their files: the intake form takes
/// pastes and the first keys, asks before quitting with typed work and follows its session at
/// each snapshot (`app.rs`); the queues pane's picker is a mode `app.rs` dispatches, its session
/// overlay reads its state, and the intake asks it to open on a new session. Every other pane
/// must be its file and its name on the `panes!` line, nothing more: added or taken out by those
/// two alone.
const PANES_NAMED_ELSEWHERE: &[&str] = &["intake", "queues"];

#[test]
fn a_pane_is_its_file_and_its_registration_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = std::fs::read_to_string(root.join("src/tui/panes/mod.rs")).unwrap();
    let line = code_only(&registry)
        .lines()
        .find(|l| l.trim_start().starts_with("panes!("))
        .expect("the panes! registration line")
        .to_string();
    // The panes, then (after `tests:`) those built for the unit tests only: both are held to it.
    let names: Vec<String> = line
        .trim()
        .trim_start_matches("panes!(")
        .trim_end_matches(");")
        .split([',', ';'])
        .map(|n| n.trim().trim_start_matches("tests:").trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    assert!(names.len() >= 6, "{line}");
    let files = source_files();
    let mut named = Vec::new();
    for name in names
        .iter()
        .filter(|n| !PANES_NAMED_ELSEWHERE.contains(&n.as_str()))
    {
        let own = [
            format!("src/tui/panes/{name}.rs"),
            format!("src/tui/panes/{name}/"),
        ];
        let capitalised = name[..1].to_uppercase() + &name[1..];
        for file in files
            .iter()
            .filter(|f| !own.iter().any(|o| f.path.starts_with(o.as_str())))
        {
            let code = code_only(&file.text);
            let code = code.replace(&line, "");
            for needle in [
                format!("panes::{name}"),
                format!("Pane::{capitalised}"),
                format!("{capitalised}State"),
            ] {
                if code.contains(&needle) {
                    named.push(format!("{} names {needle}", file.path));
                }
            }
        }
    }
    assert!(
        named.is_empty(),
        "panes named outside their file and the registration line:\n{}",
        named.join("\n")
    );
    for name in PANES_NAMED_ELSEWHERE {
        assert!(
            names.iter().any(|n| n == name),
            "{name} is no pane any more: drop it from the list"
        );
    }
}
