//! The USB tokens as `kyso token … --json` reports them (schema `kyso.token/1`,
//! docs/token-json.md): a token with its flags and certificates, and a `CKA_ID` typed by a person.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use crate::pkcs11::{TokenCertificate, TokenInfo};

/// A certificate on a token: its key's label and id, subject, issuer, serial, validity (RFC
/// 3339) and whether it is a CA's.
pub fn certificate_json(c: &TokenCertificate) -> Value {
    json!({
        "label": c.label,
        "id": c.id_hex(),
        "subject": c.cert.subject_display(),
        "issuer": c.cert.issuer_display(),
        "serial": c.cert.serial_hex(),
        "not_before": c.cert.not_before().format(&Rfc3339).ok(),
        "not_after": c.cert.not_after().format(&Rfc3339).ok(),
        "ca": c.cert.is_ca(),
    })
}

/// A token: slot, label, serial, maker, model, its PKCS#11 flags and its certificates.
pub fn token_json(t: &TokenInfo) -> Value {
    let f = &t.flags;
    json!({
        "slot": t.slot_id,
        "label": t.label,
        "serial": t.serial,
        "manufacturer": t.manufacturer,
        "model": t.model,
        "flags": {
            "login_required": f.login_required,
            "user_pin_initialized": f.user_pin_initialized,
            "pin_count_low": f.pin_count_low,
            "pin_final_try": f.pin_final_try,
            "pin_locked": f.pin_locked,
            "pin_to_be_changed": f.pin_to_be_changed,
            "protected_authentication_path": f.protected_authentication_path,
            "write_protected": f.write_protected,
        },
        "certificates": t.certificates.iter().map(certificate_json).collect::<Vec<_>>(),
        "unreadable_certificates": t.unreadable_certificates,
    })
}

/// A `CKA_ID` typed in hex (`01`, `a1b2`, `a1:b2`): at most 64 bytes, an even number of digits.
pub fn parse_id_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| *c != ':').collect();
    if s.is_empty() || !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::pkcs11::TokenFlags;

    #[test]
    fn ids_are_hex_bytes_with_optional_colons() {
        assert_eq!(parse_id_hex("0c"), Some(vec![0x0c]));
        assert_eq!(parse_id_hex("A1:b2"), Some(vec![0xa1, 0xb2]));
        for bad in ["", "1", "abc", "zz", &"00".repeat(65)] {
            assert_eq!(parse_id_hex(bad), None, "{bad}");
        }
        assert_eq!(parse_id_hex(&"ff".repeat(64)).map(|v| v.len()), Some(64));
    }

    #[test]
    fn a_token_reports_its_flags_and_certificates() {
        let t = TokenInfo {
            slot_id: 3,
            label: "Nguyen Van A".into(),
            serial: "0123".into(),
            manufacturer: "VN".into(),
            model: "T1".into(),
            flags: TokenFlags {
                pin_final_try: true,
                ..TokenFlags::default()
            },
            initialized: true,
            certificates: Vec::new(),
            unreadable_certificates: 1,
        };
        let v = token_json(&t);
        assert_eq!(v["slot"], 3);
        assert_eq!(v["label"], "Nguyen Van A");
        assert_eq!(v["flags"]["pin_final_try"], true);
        assert_eq!(v["flags"]["pin_locked"], false);
        assert_eq!(v["certificates"], json!([]));
        assert_eq!(v["unreadable_certificates"], 1);
    }
}
