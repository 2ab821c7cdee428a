//! Test support shared by kyso's test suites (a dev-dependency only).
//!
//! Many tests check kyso against independent tools — pyHanko, poppler's `pdfsig` and
//! `pdftotext`, `openssl`, `qpdf`, PostgreSQL, a browser. A test whose tool is missing must never
//! pass as if it had checked something:
//!
//! * With `KYSO_REQUIRE_ALL=1` (set by `scripts/test.sh`, so in CI) a missing tool **fails** the
//!   test with a message naming the tool and what installs it.
//! * Without it, the test may skip, but the skip is **counted and listed**: one line is appended
//!   to the skip log (`target/kyso-skips.log`, or `$KYSO_SKIP_LOG`), which `scripts/test.sh`
//!   prints after the run, besides a `SKIPPED` line on stdout.
//!
//! Oracles must also tell "the tool is missing" from "the tool failed on this file": use
//! [`run`] / [`Ran`] and fail on [`Ran::Failed`] with the tool's own message.

// Test support only: failing a test is its job.
#![allow(clippy::panic)]

pub mod garage;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "KYSO_REQUIRE_ALL";

/// Whether every external tool is required (`KYSO_REQUIRE_ALL` set to anything but `0` or
/// empty).
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where skips are listed: `$KYSO_SKIP_LOG`, else `target/kyso-skips.log` of the workspace.
pub fn skip_log() -> PathBuf {
    match std::env::var_os("KYSO_SKIP_LOG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/kyso-skips.log"
        )),
    }
}

/// The running test's name (libtest and nextest name the test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string()
}

/// Skip the rest of a check because `what` is missing. Under [`require_all`] this panics
/// (the test fails, naming `what`); otherwise the skip is printed and appended to the
/// [`skip_log`]. Callers return right after it.
#[track_caller]
pub fn skip(what: &str) {
    let test = test_name();
    if require_all() {
        panic!(
            "{test}: {what} is missing, and {REQUIRE_ALL}=1 requires every check to run \
             (scripts/setup-test-env.sh installs it)"
        );
    }
    println!("SKIPPED {test}: {what} is missing (scripts/setup-test-env.sh installs it)");
    let line = format!("{test}\t{what}\n");
    let path = skip_log();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        // One write of one short line: appends from parallel test processes do not interleave.
        let _ = f.write_all(line.as_bytes());
    }
}

/// Whether `program` can be started (it is run with `args`, e.g. `--version`; its exit status
/// does not matter, only that it exists).
pub fn can_run(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok()
}

/// `program` is there, or the check is skipped ([`skip`]) and `false` is returned.
#[track_caller]
pub fn need(program: &str, args: &[&str]) -> bool {
    let ok = can_run(program, args);
    if !ok {
        skip(&format!("`{program}`"));
    }
    ok
}

/// The Python module `module` imports with `python3`, or the check is skipped.
#[track_caller]
pub fn need_python(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(&format!("the Python module `{module}`"));
    }
    ok
}

/// What running an external tool gave.
#[derive(Debug)]
pub enum Ran {
    /// The program could not be started at all (not installed).
    Missing,
    /// It ran and exited with success.
    Ok(Output),
    /// It ran and failed: the caller decides whether that is the answer (e.g. a validator
    /// refusing a file) or a failure of the test; [`Ran::ok_or_fail`] takes the latter view.
    Failed(Output),
}

impl Ran {
    /// The output of a successful run. A missing program is a [`skip`] (`None`); a run that
    /// failed panics with the tool's own message.
    #[track_caller]
    pub fn ok_or_fail(self, what: &str) -> Option<Output> {
        match self {
            Ran::Missing => {
                skip(what);
                None
            }
            Ran::Ok(out) => Some(out),
            Ran::Failed(out) => panic!(
                "{what} failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

/// Run a prepared command and classify the result ([`Ran`]).
pub fn run(cmd: &mut Command) -> Ran {
    match cmd.output() {
        Err(_) => Ran::Missing,
        Ok(out) if out.status.success() => Ran::Ok(out),
        Ok(out) => Ran::Failed(out),
    }
}

/// Run `program args` in `dir` (a tool the test already made sure of with [`need`]) and return
/// its output; a failure fails the test with the tool's own message.
#[track_caller]
pub fn run_in(dir: &std::path::Path, program: &str, args: &[&str]) -> Output {
    match run(Command::new(program).args(args).current_dir(dir)) {
        Ran::Ok(out) => out,
        Ran::Missing => panic!("{program} cannot be started (check with kyso_testkit::need first)"),
        Ran::Failed(out) => panic!(
            "{program} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_exists_runs_and_one_that_does_not_is_missing() {
        assert!(can_run("sh", &["-c", "true"]));
        assert!(!can_run("kyso-no-such-program-xyz", &[]));
        assert!(matches!(
            run(Command::new("sh").args(["-c", "exit 0"])),
            Ran::Ok(_)
        ));
        assert!(matches!(
            run(Command::new("sh").args(["-c", "echo bad >&2; exit 3"])),
            Ran::Failed(o) if o.status.code() == Some(3) && o.stderr == b"bad\n"
        ));
        assert!(matches!(
            run(&mut Command::new("kyso-no-such-program-xyz")),
            Ran::Missing
        ));
    }

    #[test]
    #[should_panic(expected = "failed")]
    fn a_tool_that_fails_on_a_file_fails_the_test_with_its_message() {
        let _ = run(Command::new("sh").args(["-c", "echo cannot read >&2; exit 1"]))
            .ok_or_fail("the oracle");
    }

    #[test]
    fn a_skip_is_listed_or_fails_under_require_all() {
        let dir = std::env::temp_dir().join(format!("kyso-testkit-{}", std::process::id()));
        let log = dir.join("skips.log");
        // A child process, so that the environment of this test binary stays untouched.
        let me = std::env::current_exe().unwrap();
        let child = |require: &str| {
            Command::new(&me)
                .args([
                    "--exact",
                    "tests::skip_child",
                    "--nocapture",
                    "--include-ignored",
                ])
                .env("KYSO_SKIP_LOG", &log)
                .env(REQUIRE_ALL, require)
                .output()
                .unwrap()
        };
        let listed = child("0");
        assert!(listed.status.success(), "{listed:?}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text, "tests::skip_child\t`kyso-no-such-program-xyz`\n");
        let failed = child("1");
        assert!(!failed.status.success());
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&failed.stdout),
            String::from_utf8_lossy(&failed.stderr)
        );
        assert!(said.contains("`kyso-no-such-program-xyz` is missing, and KYSO_REQUIRE_ALL=1"));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Run only as the child of the test above.
    #[test]
    #[ignore = "run by a_skip_is_listed_or_fails_under_require_all"]
    fn skip_child() {
        assert!(!need("kyso-no-such-program-xyz", &[]));
    }
}
