//! CLI conventions (issue 16 item 6): help in the chosen language for every command.

use crate::common::kyso;

/// Whether `text` holds a letter Vietnamese writes and English does not (đ, ơ, ư, ă, â, ê,
/// tone marks…): Latin-1 and Latin Extended letters, Latin Extended Additional, combining marks.
fn has_vietnamese(text: &str) -> bool {
    text.chars().any(|c| {
        let u = u32::from(c);
        ((0xC0..=0x24F).contains(&u) && c != '×' && c != '÷')
            || (0x1EA0..=0x1EF9).contains(&u)
            || (0x300..=0x36F).contains(&u)
    })
}

fn help(args: &[&str]) -> String {
    let out = kyso().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help page lists (the lines under its "Commands:"/"Lệnh:" heading).
fn subcommands(page: &str, heading: &str) -> Vec<String> {
    page.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Every command path (`[]`, `["sign"]`, `["audit", "verify"]`, …), found from the help pages.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while let Some(path) = paths.get(i).cloned() {
        let mut args = vec!["--lang".to_owned(), "en".to_owned()];
        args.extend(path.iter().cloned());
        args.push("--help".to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for sub in subcommands(&help(&args), "Commands:") {
            let mut p = path.clone();
            p.push(sub);
            paths.push(p);
        }
        i += 1;
    }
    paths
}

#[test]
fn help_is_english_with_lang_en_and_vietnamese_by_default_for_every_command() {
    let paths = command_paths();
    assert!(paths.len() > 25, "{paths:?}");
    assert!(paths.contains(&vec!["audit".to_owned(), "verify".to_owned()]));
    for path in &paths {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        for flag in ["--help", "-h"] {
            let mut en_args = vec!["--lang", "en"];
            en_args.extend(&p);
            en_args.push(flag);
            let en = help(&en_args);
            assert!(
                !has_vietnamese(&en),
                "kyso {en_args:?} has Vietnamese:\n{en}"
            );
            assert!(en.contains("Usage: kyso"), "{en}");
            if !p.is_empty() {
                assert!(en.contains("Options:"), "{en}");
            }
            // The environment variable says it too.
            let mut args = p.clone();
            args.push(flag);
            let by_env = kyso().args(&args).env("KYSO_LANG", "en").output().unwrap();
            assert_eq!(String::from_utf8(by_env.stdout).unwrap(), en, "{args:?}");

            let vi = kyso().args(&args).env_remove("KYSO_LANG").output().unwrap();
            assert!(vi.status.success());
            let vi = String::from_utf8(vi.stdout).unwrap();
            assert!(has_vietnamese(&vi), "{vi}");
            assert!(vi.contains("Cách dùng: kyso"), "{vi}");
            for english in [
                "Usage:",
                "Options:",
                "Arguments:",
                "Commands:",
                "[default:",
                "[possible values:",
                "Possible values:",
                "[env:",
                "[OPTIONS]",
                "<COMMAND>",
                "Print help",
            ] {
                assert!(!vi.contains(english), "kyso {args:?}: {english}\n{vi}");
            }
        }
    }
    // Clap's own words replaced in Vietnamese: defaults, possible values, environment.
    let sign = help(&["sign", "--help"]);
    assert!(sign.contains("[mặc định: personal]"), "{sign}");
    assert!(
        sign.contains("Các giá trị:") && sign.contains("- organization: Chữ ký cơ quan"),
        "{sign}"
    );
    let sign_en = help(&["--lang", "en", "sign", "--help"]);
    assert!(sign_en.contains("[default: personal]"), "{sign_en}");
    assert!(
        sign_en.contains("- organization: Organization signature (box 8)"),
        "{sign_en}"
    );
    let audit = help(&["audit", "verify", "--help"]);
    assert!(
        audit.contains("[biến môi trường: KYSO_AUDIT_KEY_FILE]"),
        "{audit}"
    );
    let root = help(&["--help"]);
    assert!(root.contains("<LỆNH>"), "{root}");
    // The values' own help too (--log-format's text and json).
    assert!(
        root.contains("- json: Mỗi dòng một đối tượng JSON"),
        "{root}"
    );
    let root_en = help(&["--lang", "en", "--help"]);
    assert!(
        root_en.contains("- json: One JSON object per line"),
        "{root_en}"
    );
}

/// docs/exit-codes.md: 0 done, 1 refused or invalid, 2 indeterminate, 3 usage or input,
/// 4 environment — one case of each.
#[test]
fn exit_codes_follow_the_convention() {
    use crate::common::{pki, root, sign, verify_json};
    let code = |args: &[&str]| {
        let o = kyso().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), err)
    };
    // 0: done.
    assert_eq!(code(&["trust", "list"]).0, Some(0));
    // 1: refused (the root CA cannot be revoked).
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pki().join("index.json")).unwrap()).unwrap();
    let root_serial = index["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "root")
        .and_then(|e| e["serial"].as_str())
        .unwrap();
    let dir = pki().display().to_string();
    let (c, err) = code(&[
        "pki",
        "revoke",
        &dir,
        "--serial",
        root_serial,
        "--reason",
        "superseded",
    ]);
    assert_eq!(c, Some(1), "{err}");
    // 2: indeterminate (revocation unknown: the demo PKI's OCSP service is not running).
    let tmp = tempfile::tempdir().unwrap();
    let signed = tmp.path().join("signed.pdf");
    sign(
        &crate::common::corpus("one-page.pdf"),
        &signed,
        "personal",
        &["--invisible"],
    );
    let (c, v) = verify_json(&signed, &root(), &[]);
    assert_eq!(c, Some(2), "{v:#}");
    // 3: usage or input — a bad option, a missing file, a bad value, an unknown serial.
    let missing = tmp.path().join("khong-co.pdf").display().to_string();
    for args in [
        vec!["info", "--no-such-option"],
        vec!["info", missing.as_str()],
        vec![
            "pki",
            "revoke",
            &dir,
            "--serial",
            "ABCDEF",
            "--reason",
            "superseded",
        ],
        vec!["trust", "remove", "AB"],
    ] {
        let (c, err) = code(&args);
        assert_eq!(c, Some(3), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    // 4: environment — the token's driver cannot be loaded, the database is not there.
    let (c, err) = code(&["token", "list", "--pkcs11-module", "/khong-co/libpkcs11.so"]);
    assert_eq!(c, Some(4), "{err}");
    let (c, err) = code(&[
        "audit",
        "verify",
        "--data-dir",
        tmp.path().to_str().unwrap(),
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/khong_co_csdl_nay",
    ]);
    assert_eq!(c, Some(4), "{err}");
}

/// `kyso completions SHELL` and `kyso man --dir DIR` (clap_complete, clap_mangen): scripts the
/// shells accept, a page per command that groff renders without a warning.
#[test]
fn completions_for_every_shell_and_a_manual_page_for_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = help(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in ["kyso", "audit", "public-key", "pkcs11-module"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
        let file = tmp.path().join(format!("kyso.{shell}"));
        std::fs::write(&file, &script).unwrap();
        if shell == "bash" {
            let o = std::process::Command::new("bash")
                .arg("-n")
                .arg(&file)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let out = kyso().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));

    let paths = command_paths();
    let groff = kyso_testkit::need("groff", &["--version"]);
    for (lang, name_heading) in [("en", ".SH NAME"), ("vi", ".SH TÊN")] {
        let dir = tmp.path().join(lang);
        let said = help(&["--lang", lang, "man", "--dir", dir.to_str().unwrap()]);
        assert!(said.contains(&paths.len().to_string()), "{said}");
        for path in &paths {
            let mut name = vec!["kyso".to_owned()];
            name.extend(path.iter().cloned());
            let page = dir.join(format!("{}.1", name.join("-")));
            let roff = std::fs::read_to_string(&page)
                .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
            assert!(roff.starts_with(".ie") || roff.starts_with(".TH"), "{roff}");
            assert!(roff.contains(name_heading), "{}", page.display());
            if lang == "en" {
                assert!(!has_vietnamese(&roff), "{}:\n{roff}", page.display());
            }
            if groff {
                let o = std::process::Command::new("groff")
                    .args(["-man", "-Tutf8", "-k", "-ww", "-z"])
                    .arg(&page)
                    .output()
                    .unwrap();
                assert!(
                    o.status.success() && o.stderr.is_empty(),
                    "{}: {}",
                    page.display(),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), paths.len());
    }
    let sign = std::fs::read_to_string(tmp.path().join("vi/kyso-sign.1")).unwrap();
    assert!(
        sign.contains("Ký số tệp PDF") && sign.contains("TÙY CHỌN"),
        "{sign}"
    );
    let sign = std::fs::read_to_string(tmp.path().join("en/kyso-sign.1")).unwrap();
    assert!(
        sign.contains("Sign PDF files") && sign.contains("OPTIONS"),
        "{sign}"
    );
}
