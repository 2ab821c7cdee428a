//! Help pages in the user's language. The Vietnamese text of every command and option is its
//! doc comment; the English text is `help_en.txt` (one `KEY = text` line each, keyed by the
//! command's path and the argument's id). clap's own words — headings, `[default: …]`,
//! `[possible values: …]`, `[env: …]`, `[OPTIONS]` — are replaced in Vietnamese.

use clap::builder::StyledStr;
use clap::{Arg, Command};

use kyso_i18n::Lang;

/// The English help table (see the file's first lines for its format).
const EN: &str = include_str!("help_en.txt");

/// Help pages in Vietnamese: clap's own headings ("Usage", "Options", …) replaced.
const TEMPLATE_VI: &str = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";

/// The English text of `key`: the line `key = text`, else for an argument the shared
/// `* id = text` line (options several commands flatten in, like `--pkcs11-module`).
pub fn english(key: &str) -> Option<&'static str> {
    let find = |k: &str| {
        EN.lines().find_map(|l| {
            let (lk, text) = l.split_once(" = ")?;
            (lk.trim() == k).then_some(text.trim())
        })
    };
    find(key).or_else(|| {
        let (_, id) = key.rsplit_once(' ')?;
        find(&format!("* {id}"))
    })
}

/// The help layout and texts of `cmd` and all its subcommands in `lang`.
pub fn localize(cmd: Command, lang: Lang) -> Command {
    let path = cmd.get_name().to_owned();
    localize_at(cmd, &path, lang)
}

/// The table key of subcommand `name` of the command at `parent` (`sign`, `audit verify`).
fn sub_path(parent: &str, name: &str) -> String {
    if parent == "kyso" {
        name.to_owned()
    } else {
        format!("{parent} {name}")
    }
}

fn localize_at(cmd: Command, path: &str, lang: Lang) -> Command {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd = match lang {
        Lang::Vi => cmd
            .help_template(TEMPLATE_VI)
            .subcommand_help_heading("Lệnh")
            .subcommand_value_name("LỆNH"),
        Lang::En => {
            let cmd = cmd
                .subcommand_help_heading("Commands")
                .subcommand_value_name("COMMAND");
            match english(path) {
                Some(about) => cmd.about(about).long_about(None::<&str>),
                None => cmd,
            }
        }
    };
    let heads = match lang {
        Lang::Vi => ("Tham số", "Tùy chọn"),
        Lang::En => ("Arguments", "Options"),
    };
    let owned = path.to_owned();
    cmd.mut_args(|a| {
        let a = if a.is_positional() {
            a.help_heading(heads.0)
        } else {
            a.help_heading(heads.1)
        };
        localize_arg(a, &owned, lang)
    })
    .mut_subcommands(|sub| {
        let path = sub_path(&owned, sub.get_name());
        localize_at(sub, &path, lang)
    })
}

/// One argument's help in `lang`: the English text from the table, the possible values with
/// their help, and (in Vietnamese) the default value and environment variable in Vietnamese.
fn localize_arg(a: Arg, path: &str, lang: Lang) -> Arg {
    let id = a.get_id().as_str().to_owned();
    let mut help = match lang {
        Lang::Vi => a.get_help().map(StyledStr::to_string).unwrap_or_default(),
        Lang::En => english(&format!("{path} {id}"))
            .map(str::to_owned)
            .or_else(|| a.get_help().map(StyledStr::to_string))
            .unwrap_or_default(),
    };
    let mut a = a;
    if lang == Lang::En {
        if let Some(names) = a.get_value_names().map(|v| v.to_vec()) {
            let names: Vec<clap::builder::Str> = names
                .into_iter()
                .map(|n| match value_name_en(n.as_str()) {
                    Some(en) => en.into(),
                    None => n,
                })
                .collect();
            a = a.value_names(names);
        }
    }
    let takes_values = a.get_action().takes_values();
    let mut suffix: Vec<String> = Vec::new();
    let mut list = String::new();
    if lang == Lang::Vi && !a.is_hide_env_set() {
        if let Some(env) = a.get_env() {
            suffix.push(format!("[biến môi trường: {}]", env.to_string_lossy()));
        }
    }
    if lang == Lang::Vi && takes_values && !a.is_hide_default_value_set() {
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() {
            suffix.push(format!("[mặc định: {}]", defaults.join(", ")));
        }
    }
    let values: Vec<clap::builder::PossibleValue> = a
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    let value_help = values.iter().any(|v| v.get_help().is_some());
    // clap's own "[possible values: …]" is right in English unless the values have help to
    // translate.
    let own_values = lang == Lang::Vi || value_help;
    if takes_values && own_values && !values.is_empty() && !a.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
        suffix.push(match lang {
            Lang::Vi => format!("[giá trị: {}]", names.join(", ")),
            Lang::En => format!("[possible values: {}]", names.join(", ")),
        });
        if value_help {
            list.push_str(lang.pick("Các giá trị:", "Possible values:"));
            for v in &values {
                let text = match lang {
                    Lang::Vi => v.get_help().map(StyledStr::to_string),
                    Lang::En => english(&format!("{path} {id}={}", v.get_name()))
                        .map(str::to_owned)
                        .or_else(|| v.get_help().map(StyledStr::to_string)),
                };
                list.push_str(&format!("\n  - {}", v.get_name()));
                if let Some(t) = text {
                    list.push_str(&format!(": {t}"));
                }
            }
        }
        a = a.hide_possible_values(true);
    }
    if a.get_env().is_some() {
        // The variable's name, never its value (which may be a path or the name of a secret).
        a = match lang {
            Lang::Vi => a.hide_env(true),
            Lang::En => a.hide_env_values(true),
        };
    }
    if lang == Lang::Vi && takes_values && !a.get_default_values().is_empty() {
        a = a.hide_default_value(true);
    }
    if !suffix.is_empty() {
        if !help.is_empty() {
            help.push(' ');
        }
        help.push_str(&suffix.join(" "));
    }
    if help.is_empty() {
        return a;
    }
    let a = a.help(help.clone());
    if list.is_empty() {
        a.long_help(None::<&str>)
    } else {
        a.long_help(format!("{help}\n\n{list}"))
    }
}

/// The English form of a value name written in Vietnamese (`TỆP` → `FILE`); none for a name
/// that is English already.
fn value_name_en(name: &str) -> Option<&'static str> {
    if name.is_ascii() {
        return None;
    }
    english(&format!("value {name}"))
}

/// A rendered help page with the words clap writes itself (in the usage line) in `lang`.
pub fn finish(text: &str, lang: Lang) -> String {
    match lang {
        Lang::En => text.to_owned(),
        Lang::Vi => text
            .replace("[OPTIONS]", "[TÙY_CHỌN]")
            .replace("<COMMAND>", "<LỆNH>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// Every key the command tree asks for: commands, arguments, possible values with help,
    /// and value names written in Vietnamese.
    fn keys(cmd: &Command, path: &str, out: &mut Vec<String>) {
        out.push(path.to_owned());
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            out.push(format!("{path} {id}"));
            for v in a.get_possible_values() {
                if v.get_help().is_some() {
                    out.push(format!("{path} {id}={}", v.get_name()));
                }
            }
            for n in a.get_value_names().unwrap_or_default() {
                if !n.is_ascii() {
                    out.push(format!("value {n}"));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            keys(sub, &sub_path(path, sub.get_name()), out);
        }
    }

    fn table_keys() -> Vec<&'static str> {
        EN.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .collect()
    }

    #[test]
    fn every_command_option_and_value_has_english_help() {
        let mut wanted = Vec::new();
        keys(&crate::Cli::command(), "kyso", &mut wanted);
        let missing: Vec<&String> = wanted.iter().filter(|k| english(k).is_none()).collect();
        assert!(
            missing.is_empty(),
            "add these lines to crates/kyso/src/help_en.txt:\n{}",
            missing
                .iter()
                .map(|k| format!("{k} = …"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let unused: Vec<&str> = table_keys()
            .into_iter()
            .filter(|k| match k.strip_prefix("* ") {
                Some(id) => !wanted.iter().any(|w| w.ends_with(&format!(" {id}"))),
                None => !wanted.iter().any(|w| w == k),
            })
            .collect();
        assert!(
            unused.is_empty(),
            "lines of help_en.txt nothing uses: {unused:?}"
        );
    }

    #[test]
    fn the_table_has_one_line_per_key() {
        let mut seen = std::collections::HashSet::new();
        for k in table_keys() {
            assert!(seen.insert(k), "{k} twice in help_en.txt");
        }
    }

    #[test]
    fn english_help_falls_back_to_the_shared_line() {
        assert_eq!(english("sign p12"), english("* p12"));
        assert!(english("token import token")
            .is_some_and(|t| t != english("* token").unwrap_or_default()));
        assert_eq!(value_name_en("TỆP"), Some("FILE"));
        assert_eq!(value_name_en("N"), None);
    }
}
