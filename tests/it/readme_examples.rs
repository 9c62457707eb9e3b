//! The README's examples run as written: every shell block marked `<!-- example: NAME -->` is
//! run by bash (errors and failed pipes stop it) in a new directory of its own, with `pitwall` on
//! the PATH and its data directory there too, so a pasted quick start keeps working. And the
//! user's pages stand on their own: short, and citing no file that is not in the repository.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// (name, shell text) of each marked example, in README order.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- example: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.next(),
            Some("```sh"),
            "{name}: a ```sh block follows the mark"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        out.push((name.to_string(), body.join("\n")));
    }
    out
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_marked_readme_example_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = examples(&readme);
    let names: Vec<&str> = examples.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"api-quickstart"), "{names:?}");
    for (name, script) in &examples {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pitwall"), bin.join("pitwall")).unwrap();
        std::os::unix::fs::symlink(root().join("seeds"), dir.path().join("seeds")).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c", script])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("PITWALL_HOME", dir.path())
            .env_remove("PITWALL_TEST_POSTGRES")
            // Its own process group: whatever it leaves running (a server an early failure
            // skipped stopping) is stopped with it below.
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let group = child.id() as i32;
        let out = child.wait_with_output().unwrap();
        // SAFETY: kill(2) on a process group this test made; no memory is involved.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        assert!(
            out.status.success(),
            "README example {name} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The README is a user's guide (the rest lives in docs/), and no user-facing page sends a
/// reader to a file the repository does not hold.
#[test]
fn the_readme_is_short_and_user_pages_cite_no_outside_file() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 350, "README.md has {lines} lines");
    let mut pages = vec![("README.md".to_string(), readme)];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    for (name, text) in &pages {
        assert!(!text.contains("SPEC"), "{name} cites the team's SPEC");
        // Every relative link names a file that exists.
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or("");
            let target = target.split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let base = if name.ends_with("README.md") {
                root().to_path_buf()
            } else {
                root().join("docs")
            };
            assert!(base.join(target).exists(), "{name} links to {target}");
        }
    }
}

/// docs/commands.md is what the code generates from the command types today
/// (`UPDATE_DOCS=1 cargo test --test it readme_examples::` writes it).
#[test]
fn the_command_reference_is_generated_from_the_command_types() {
    let path = root().join("docs/commands.md");
    let generated = pitwall::serve::reference::command_reference();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/commands.md is stale: run UPDATE_DOCS=1 cargo test --test it readme_examples::"
    );
    for field in [
        "request_type",
        "brands",
        "notify_via",
        "scheduled_for",
        "customer",
    ] {
        assert!(generated.contains(&format!("`{field}`")), "{field}");
    }
}
