//! `kyso demo [DIR]`: the main job end to end on built-in data — a demo PKI, a sample official
//! letter, and the Decree 30 signatures in their order: the signer's personal signature, the
//! agency's seal, an electronic copy, and a signed appendix.

use std::path::{Path, PathBuf};

use kyso_i18n::catalogue as errors;
use kyso_i18n::{Lang, UserError};
use kyso_keys::{Pkcs12Signer, Secret};
use kyso_pades::forms::{widget_builder, CopyForm, Position, VisibleForm};
use kyso_pades::SignOptions;
use time::OffsetDateTime;

/// The demo PKI's password. The PKI is fictional and local: this is a fixture, not a secret.
pub const DEMO_PASSWORD: &str = "kyso-demo";

const LETTER: &[u8] = include_bytes!("../../../tests/corpus/letter-classic.pdf");
const APPENDIX: &[u8] = include_bytes!("../../../tests/corpus/scan.pdf");

struct Step<'a> {
    vi: &'a str,
    en: &'a str,
    input: PathBuf,
    output: PathBuf,
    p12: &'a str,
    form: Option<VisibleForm>,
}

/// Make the demo PKI (once) and the signed documents in `dir` at `now`, telling `say` each
/// step and, at the end, how to check the results with other tools.
pub fn run(
    dir: &Path,
    now: OffsetDateTime,
    lang: Lang,
    say: &mut dyn FnMut(&str),
) -> Result<(), UserError> {
    std::fs::create_dir_all(dir).map_err(|e| errors::io(dir, &e))?;
    let pki = dir.join("pki");
    if !pki.join("root.pem").exists() {
        say(lang.pick(
            "• Tạo hạ tầng khóa công khai DEMO…",
            "• Creating the demo PKI…",
        ));
        let opts = kyso_pki::demo::InitOptions::new(Secret::new(DEMO_PASSWORD.to_owned()), now);
        kyso_pki::demo::init(&pki, &opts).map_err(|e| crate::pki_report::error(&e))?;
    }
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, UserError> {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| errors::io(&p, &e))?;
        Ok(p)
    };
    let letter = write("thong-bao.pdf", LETTER)?;
    let appendix = write("phu-luc.pdf", APPENDIX)?;
    let image = |name: &str| -> Result<Vec<u8>, UserError> {
        let p = pki.join(name);
        std::fs::read(&p).map_err(|e| errors::io(&p, &e))
    };
    let f = |n: &str| dir.join(n);
    let steps = [
        Step {
            vi: "Chữ ký cá nhân của Phó Giám đốc (ô 7c)",
            en: "Personal signature of the Deputy Director (cell 7c)",
            input: letter,
            output: f("1-ky-ca-nhan.pdf"),
            p12: "personal2",
            form: Some(VisibleForm::Personal {
                image: image("signature.png")?,
                position: Position::Anchor {
                    page: None,
                    text: "PHÓ GIÁM ĐỐC".into(),
                },
            }),
        },
        Step {
            vi: "Chữ ký của cơ quan, hình con dấu (ô 8)",
            en: "Organization signature with the seal (cell 8)",
            input: f("1-ky-ca-nhan.pdf"),
            output: f("2-ky-co-quan.pdf"),
            p12: "organization",
            form: Some(VisibleForm::Organization {
                seal: image("seal.png")?,
                diameter_mm: None,
                page: None,
                position: None,
            }),
        },
        Step {
            vi: "Bản sao điện tử (ô 14)",
            en: "Electronic copy (cell 14)",
            input: f("2-ky-co-quan.pdf"),
            output: f("3-ban-sao.pdf"),
            p12: "organization",
            form: Some(VisibleForm::Copy {
                form: CopyForm::Certified,
                org_name: "Sở Khoa học và Công nghệ tỉnh Demo".into(),
                number: None,
                place: None,
            }),
        },
        Step {
            vi: "Phụ lục kèm theo văn bản",
            en: "Appendix of the letter",
            input: appendix,
            output: f("4-phu-luc-da-ky.pdf"),
            p12: "organization",
            form: Some(VisibleForm::Attachment {
                doc_number: "123/TB-SKHCN".into(),
            }),
        },
    ];
    let password = Secret::new(DEMO_PASSWORD.to_owned());
    for step in steps {
        let path = pki.join(format!("{}.p12", step.p12));
        let data = crate::signing::read_limited(&path, kyso_keys::MAX_P12_BYTES)?;
        let signer = Pkcs12Signer::from_pkcs12(&data, &password).map_err(|e| errors::keys(&e))?;
        let widget = match step.form {
            Some(form) => Some(widget_builder(form, now).map_err(|e| errors::pades(&e))?),
            None => None,
        };
        kyso_pades::sign_with(
            &step.input,
            &step.output,
            &SignOptions::new(now),
            &signer,
            widget,
        )
        .map_err(|e| errors::pades(&e))?;
        say(&format!(
            "• {}: {}",
            lang.pick(step.vi, step.en),
            step.output.display()
        ));
    }
    let root = pki.join("root.pem");
    say(lang.pick(
        "Xong. Mở các tệp trên bằng trình xem PDF, hoặc kiểm tra bằng công cụ độc lập:",
        "Done. Open the files above in a PDF viewer, or check them with independent tools:",
    ));
    say(&format!(
        "  pyhanko sign validate --no-revocation-check --trust {} --trust-replace {}",
        root.display(),
        f("3-ban-sao.pdf").display()
    ));
    // (pdfsig 22.x reports "Unknown issue with Certificate" for the second signature made
    // with one certificate in a file, as in 3-ban-sao.pdf; it is a poppler quirk.)
    say(&format!("  pdfsig {}", f("2-ky-co-quan.pdf").display()));
    Ok(())
}
