//! herald as scripts, packagers and new users meet it: the real binary's
//! exit statuses, a closed standard output, help and man page, where it
//! finds its site, `new` and `check` on broken sites, and the install files
//! (Dockerfile, the GitHub Actions and systemd examples in docs/) read back
//! by parsers.

mod support;
use support::{copy_dir, herald};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use assert_cmd::Command;
use clap::CommandFactory;
use herald::cli::Cli;
use predicates::prelude::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the repository's sample site (config/ and posts/).
fn sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), &dir.path().join("config"));
    copy_dir(&repo().join("posts"), &dir.path().join("posts"));
    dir
}

fn write(root: &Path, name: &str, text: &str) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// herald run where the test runs, for what needs no site.
fn herald_here(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("herald").unwrap().args(args).assert()
}

#[test]
fn every_exit_status_is_the_documented_one() {
    let site = sample();
    let root = site.path();
    herald(root, &["build"]).code(0);
    // 2: usage errors, from clap and from the library alike.
    herald(root, &["build", "--no-such-flag"]).code(2);
    herald(root, &["preview", "no-such-post"])
        .code(2)
        .stderr(predicate::str::contains("no published post named"));
    herald(root, &["subscribers", "list", "--status", "sleeping"])
        .code(2)
        .stderr(predicate::str::contains("possible values"));
    // 1: a broken post.
    write(
        root,
        "posts/2025-07-01-broken.md",
        "---\ntitle: [oops\n---\n",
    );
    herald(root, &["build"])
        .code(1)
        .stderr(predicate::str::contains("2025-07-01-broken.md:2"));
    // 3 and 4 need a send: tests/ledger.rs (a send holding the ledger) and
    // tests/email.rs (a refused address) check them.
    let help = herald_here(&["--help"]).success();
    let help = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    for line in herald::error::EXIT_STATUS_HELP.lines() {
        assert!(help.contains(line), "--help lacks {line:?}");
    }
    // README's table lists the same codes.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let codes: Vec<&str> = herald::error::EXIT_STATUS_HELP
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(codes[..5], ["0", "1", "2", "3", "4"]);
    for code in codes {
        assert!(
            readme.contains(&format!("\n| {code} | ")),
            "README's exit status table lacks {code}"
        );
    }
}

/// Runs herald with its standard output a pipe whose reader is already
/// closed, as `herald ... | head -1` leaves it once head has its line.
fn run_with_closed_stdout(root: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(assert_cmd::cargo::cargo_bin("herald"))
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_standard_output_ends_every_command_quietly_with_status_0() {
    let site = sample();
    let root = site.path();
    for email in ["ada@example.org", "alan@example.org", "emmy@example.org"] {
        herald(root, &["subscribers", "add", email]).success();
    }
    for args in [
        &["subscribers", "list"][..],
        &["subscribers", "export"],
        &["subscribers", "add", "kurt@example.org"],
        &["status"],
        &["build"],
        &["check"],
        &["new", "Piped"],
        &["completions", "bash"],
        &["man"],
        &["send", "--dry-run", "--all"],
    ] {
        let out = run_with_closed_stdout(root, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "herald {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "herald {args:?}: {stderr}");
        assert!(!stderr.contains("error"), "herald {args:?}: {stderr}");
    }
    // The command still did its work: kurt was added though nobody read the answer.
    herald(root, &["subscribers", "list"])
        .success()
        .stdout(predicate::str::contains("kurt@example.org"));
}

/// Every argument and every command of `cmd` and its subcommands, by path.
fn undocumented(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path} {}", arg.get_id()));
        }
    }
    for sub in cmd.get_subcommands() {
        let path = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none() {
            missing.push(path.clone());
        }
        undocumented(sub, &path, missing);
    }
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut cmd = Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    undocumented(&cmd, "herald", &mut missing);
    assert!(missing.is_empty(), "no help text: {missing:?}");

    // And each command's help prints through the real binary.
    let mut paths = vec![vec![]];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        paths.push(vec![sub.get_name()]);
        for inner in sub.get_subcommands().filter(|s| s.get_name() != "help") {
            paths.push(vec![sub.get_name(), inner.get_name()]);
        }
    }
    assert!(paths.len() > 15, "{paths:?}");
    for path in paths {
        herald_here(&[&path[..], &["--help"]].concat())
            .success()
            .stdout(predicate::str::contains("Usage: herald"));
    }
}

#[test]
fn help_teaches_by_example_and_the_man_page_is_generated() {
    herald_here(&["--help"])
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("herald send --dry-run"));
    herald_here(&["send", "--help"])
        .success()
        .stdout(predicate::str::contains("herald send --to me@example.org"));
    herald_here(&["new", "--help"])
        .success()
        .stdout(predicate::str::contains("comma-separated"));

    herald_here(&["man"])
        .success()
        .stdout(predicate::str::starts_with(".ie \\n(.g .ds Aq"))
        .stdout(predicate::str::contains(".TH herald 1"))
        .stdout(predicate::str::contains("Exit status:"));
    let dir = tempfile::tempdir().unwrap();
    herald_here(&["man", "--out", dir.path().to_str().unwrap()]).success();
    for page in ["herald.1", "herald-send.1", "herald-subscribers-import.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".SH NAME"), "{page}");
    }
}

#[test]
fn flags_that_make_no_sense_together_are_refused() {
    let site = sample();
    let root = site.path();
    for args in [
        &["-q", "-v", "build"][..],
        &["send", "--to", "me@example.org", "--mark-sent"],
        &["send", "--to", "me@example.org", "--all"],
        &["send", "--to", "me@example.org", "--resend-unknown"],
        &["send", "--mark-sent", "--dry-run"],
        &["send", "--mark-sent", "--resend-unknown"],
        &["send", "--all", "--post", "hello-herald"],
    ] {
        herald(root, args)
            .code(2)
            .stderr(predicate::str::contains("cannot be used with"));
    }
    assert!(!root.join(".herald").exists(), "nothing was recorded");
}

#[test]
fn tags_are_comma_separated_and_trimmed() {
    let site = sample();
    let out = herald(
        site.path(),
        &["new", "Tagged", "--tags", " rust , open source,feeds"],
    )
    .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let path = said.trim().strip_prefix("created ").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let loaded = herald::Site::load(site.path(), None, &herald::LoadOptions::default()).unwrap();
    let post = loaded.posts.iter().find(|p| p.title == "Tagged").unwrap();
    assert_eq!(post.tags, ["rust", "open source", "feeds"], "{text}");
    herald(site.path(), &["new", "Empty tag", "--tags", "a,,b"])
        .code(2)
        .stderr(predicate::str::contains("a tag cannot be empty"));
}

#[test]
fn herald_finds_its_site_from_a_subfolder_and_names_a_missing_folder() {
    let site = sample();
    Command::cargo_bin("herald")
        .unwrap()
        .current_dir(site.path().join("posts/2025"))
        .arg("build")
        .assert()
        .success();
    assert!(site.path().join("public/atom.xml").is_file());
    assert!(!site.path().join("posts/2025/public").exists());
    // -C DIR searches from DIR the same way.
    herald(&site.path().join("posts"), &["check"])
        .success()
        .stdout(predicate::str::contains("no problems"));

    let missing = site.path().join("no-such-folder");
    herald(&missing, &["build"])
        .code(2)
        .stderr(predicate::str::contains("no-such-folder: no such folder"));
    // A folder with no site above it still says how to make one.
    let empty = tempfile::tempdir().unwrap();
    herald(empty.path(), &["build"])
        .code(1)
        .stderr(predicate::str::contains("herald init"));
}

#[test]
fn new_does_not_read_the_other_posts() {
    let site = sample();
    write(
        site.path(),
        "posts/2025-07-01-broken.md",
        "---\ntitle: [oops\n---\n",
    );
    herald(site.path(), &["new", "Still possible"])
        .success()
        .stdout(predicate::str::contains("-still-possible.md"));
}

#[test]
fn check_reports_front_matter_liquid_and_email_template_problems_together() {
    let site = sample();
    let root = site.path();
    herald(root, &["check"])
        .success()
        .stdout(predicate::str::contains("no problems"));
    write(
        root,
        "posts/2025-07-01-bad-yaml.md",
        "---\ntitle: [oops\n---\nText.\n",
    );
    write(
        root,
        "posts/2025-07-02-bad-liquid.md",
        "---\ntitle: Liquid\n---\nOne.\n\n{% if %}\n",
    );
    write(
        root,
        "templates/email.html",
        "<html><body>{{ post.content | safe }}\n{% for x in %}</body></html>\n",
    );
    let out = herald(root, &["check"]).code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("2025-07-01-bad-yaml.md:2"), "{err}");
    assert!(err.contains("2025-07-02-bad-liquid.md:"), "{err}");
    assert!(err.contains("templates/email.html:2"), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(!root.join("public").exists());

    // A template that parses but fails on a post's data is found too.
    std::fs::remove_file(root.join("posts/2025-07-01-bad-yaml.md")).unwrap();
    std::fs::remove_file(root.join("posts/2025-07-02-bad-liquid.md")).unwrap();
    write(
        root,
        "templates/email.html",
        "<p>{{ post.no_such_field.deeper }}</p>\n",
    );
    herald(root, &["check"])
        .code(1)
        .stderr(predicate::str::contains("templates/email.html"));
}

#[derive(Debug, serde::Deserialize)]
struct Workflow {
    on: BTreeMap<String, serde_json::Value>,
    permissions: BTreeMap<String, String>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Job {
    runs_on: String,
    #[serde(default)]
    needs: Option<String>,
    steps: Vec<Step>,
}

#[derive(Debug, serde::Deserialize)]
struct Step {
    name: String,
    uses: Option<String>,
    run: Option<String>,
    #[serde(default)]
    with: BTreeMap<String, serde_json::Value>,
}

#[test]
fn the_github_actions_example_builds_the_feeds_and_deploys_them_with_pages() {
    let text = std::fs::read_to_string(repo().join("docs/github-actions/feeds.yml")).unwrap();
    let workflow: Workflow = serde_saphyr::from_str(&text).unwrap();
    assert!(workflow.on.contains_key("push"));
    assert_eq!(workflow.permissions["pages"], "write");
    assert_eq!(workflow.permissions["id-token"], "write");
    let build = &workflow.jobs["build"];
    let deploy = &workflow.jobs["deploy"];
    assert_eq!(deploy.needs.as_deref(), Some("build"));
    for job in [build, deploy] {
        assert!(job.runs_on.starts_with("ubuntu"));
        for step in &job.steps {
            assert!(
                step.uses.is_some() != step.run.is_some(),
                "{}: a step either uses an action or runs a command",
                step.name
            );
            if let Some(action) = &step.uses {
                assert!(action.contains("@v"), "{action} is not pinned to a version");
            }
        }
    }
    let runs: Vec<&str> = build
        .steps
        .iter()
        .filter_map(|s| s.run.as_deref())
        .collect();
    assert!(
        runs.iter().any(|r| r.contains("cargo install --locked")),
        "{runs:?}"
    );
    assert!(runs.contains(&"herald check") && runs.contains(&"herald build"));
    let upload = build
        .steps
        .iter()
        .find(|s| {
            s.uses
                .as_deref()
                .is_some_and(|u| u.starts_with("actions/upload-pages-artifact"))
        })
        .unwrap();
    // The artifact is the sample configuration's feeds folder.
    let config = herald::config::Config::load(
        &repo().join("config/herald.toml"),
        Path::new("config/herald.toml"),
    )
    .unwrap();
    assert_eq!(upload.with["path"], config.feeds.dir.to_str().unwrap());
    assert!(
        deploy.steps[0]
            .uses
            .as_deref()
            .is_some_and(|u| u.starts_with("actions/deploy-pages"))
    );
}

/// A systemd unit file: section -> key -> values (a key may repeat).
fn unit(name: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(repo().join("docs/systemd").join(name)).unwrap();
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut current = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(section.to_string());
            sections.entry(section.to_string()).or_default();
            continue;
        }
        let section = current
            .clone()
            .unwrap_or_else(|| panic!("{name}:{}: a setting outside a section", number + 1));
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{name}:{}: not KEY=VALUE: {line}", number + 1));
        sections
            .get_mut(&section)
            .unwrap()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    sections
}

#[test]
fn the_systemd_example_runs_send_on_a_timer() {
    let service = unit("herald-send.service");
    let timer = unit("herald-send.timer");
    assert_eq!(
        service.keys().collect::<Vec<_>>(),
        ["Service", "Unit"],
        "a timer-run service needs no [Install]"
    );
    let run = &service["Service"];
    assert_eq!(run["Type"], ["oneshot"]);
    let exec = &run["ExecStart"][0];
    assert!(
        exec.starts_with('/'),
        "ExecStart needs an absolute path: {exec}"
    );
    assert!(exec.ends_with("herald --quiet send"), "{exec}");
    // "Another send is running" is no failure for a timer; failed deliveries are.
    assert_eq!(run["SuccessExitStatus"], ["3"]);
    assert!(run.contains_key("User") && run.contains_key("WorkingDirectory"));
    assert_eq!(
        run["ReadWritePaths"], run["WorkingDirectory"],
        "herald may write only in the site"
    );

    assert_eq!(timer["Timer"]["Unit"], ["herald-send.service"]);
    assert!(timer["Timer"].contains_key("OnCalendar"));
    assert_eq!(timer["Install"]["WantedBy"], ["timers.target"]);
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_herald_unprivileged_in_a_small_one() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let froms: Vec<&str> = instructions
        .iter()
        .copied()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust:") && froms[0].ends_with(" AS build"));
    assert!(froms[1].contains("-slim") || froms[1].contains("distroless"));
    let last = text.rsplit("\nFROM ").next().unwrap();
    assert!(last.contains("COPY --from=build /src/target/release/herald /usr/local/bin/herald"));
    let user = last
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets a USER");
    assert!(user != "root" && user != "0");
    assert!(last.contains("ENTRYPOINT [\"herald\"]"));
    assert!(text.contains("cargo build --release --locked"));
    // The build context leaves out what a local build leaves behind.
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target/"));
}

#[test]
fn the_package_says_what_it_is_and_under_which_licence() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let package = manifest["package"].as_table().unwrap();
    assert_eq!(package["license"].as_str(), Some("MIT OR Apache-2.0"));
    for key in [
        "description",
        "readme",
        "keywords",
        "categories",
        "rust-version",
    ] {
        assert!(package.contains_key(key), "Cargo.toml lacks package.{key}");
    }
    for file in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
    ] {
        assert!(repo().join(file).is_file(), "{file} is missing");
    }
    let apache = std::fs::read_to_string(repo().join("LICENSE-APACHE")).unwrap();
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    let release = manifest["profile"]["release"].as_table().unwrap();
    assert_eq!(release["lto"].as_bool(), Some(true));
    assert_eq!(release["codegen-units"].as_integer(), Some(1));
    assert_eq!(release["strip"].as_bool(), Some(true));
    assert_eq!(
        manifest["lints"]["rust"]["unsafe_code"].as_str(),
        Some("forbid")
    );
    let dependencies = manifest["dependencies"].as_table().unwrap();
    assert!(
        !dependencies.contains_key("anyhow"),
        "the library uses thiserror"
    );
    let clap_features = dependencies["clap"]["features"].as_array().unwrap();
    assert!(!clap_features.iter().any(|f| f.as_str() == Some("env")));
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains("cargo install --locked --path ."));
    // The leniency code reads liquid's error wording: only an exact version.
    for name in ["liquid", "liquid-core", "liquid-lib"] {
        let spec = &manifest["dependencies"][name];
        let version = spec.as_str().or_else(|| spec["version"].as_str()).unwrap();
        assert!(
            version.starts_with('='),
            "{name} = {version:?} is not pinned"
        );
    }
}

/// A test that passes doing nothing in a fresh clone is worse than none:
/// every fixture lives in the repository, and no test skips itself.
#[test]
fn no_test_needs_files_from_outside_the_repository_or_skips_itself() {
    let outside = format!("../{}", "shared");
    let skip = format!("eprintln!(\"{}", "skipped");
    for entry in walkdir::WalkDir::new(repo().join("tests")) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
            assert!(
                !text.contains(&outside),
                "{} reads {outside}",
                path.display()
            );
            assert!(!text.contains(&skip), "{} skips itself", path.display());
        }
    }
}
