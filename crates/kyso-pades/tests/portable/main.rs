#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The signing engine builds on Windows too (where most officials' token drivers live): no
//! platform API in the engine crates' sources unless right under a `#[cfg(...)]` that has a
//! portable fallback beside it. `cargo check --target x86_64-pc-windows-gnu -p kyso-pades
//! -p kyso-ltv -p kyso-keys` proves it where that target is installed; this test keeps it true
//! everywhere.

use std::path::{Path, PathBuf};

const ENGINE: [&str; 6] = [
    "kyso-pdf",
    "kyso-cms",
    "kyso-x509",
    "kyso-pades",
    "kyso-ltv",
    "kyso-keys",
];

const PLATFORM_APIS: [&str; 6] = [
    "std::os::unix",
    "std::os::windows",
    "std::os::fd",
    "libc::",
    "PermissionsExt",
    "MetadataExt",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_engine_uses_platform_apis_only_behind_cfg() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offending = Vec::new();
    let mut files = Vec::new();
    for name in ENGINE {
        rust_files(&crates.join(name).join("src"), &mut files);
    }
    assert!(files.len() > 40, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !PLATFORM_APIS.iter().any(|api| code.contains(api)) {
                continue;
            }
            // The item it belongs to is gated: a #[cfg(...)] within the few lines above
            // (the attribute, a doc comment, the signature).
            let gated = lines[i.saturating_sub(4)..i]
                .iter()
                .any(|l| l.trim_start().starts_with("#[cfg(") && !l.contains("cfg(test)"));
            if !gated {
                offending.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "platform APIs outside #[cfg]:\n{}",
        offending.join("\n")
    );
}
