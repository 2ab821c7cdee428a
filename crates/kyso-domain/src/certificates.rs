//! What a certificate must be before the registry keeps it as a subscriber's: it names that
//! subscriber (or an officer confirms why it does not, with a reason), it can sign, and its
//! validity fits Decree 68 Article 9 — at most five years for a new certificate and at most
//! three years more on a renewal. (That it chains to a trusted certification authority is the
//! path validator's question; the store asks it.)
//!
//! The rules take plain facts read from the certificate and the registry, so they know nothing
//! of X.509 or SQL.

use time::{Date, Month, OffsetDateTime};

use crate::calendar::day_text;
use crate::text::fold;

/// Most years a new subscriber certificate may be valid (Decree 68 Art. 9).
pub const NEW_MAX_YEARS: i32 = 5;
/// Most years a renewal may add to the renewed certificate's end (Decree 68 Art. 9).
pub const RENEWAL_MAX_YEARS: i32 = 3;

/// What a certificate says of its holder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertHolder {
    /// The subject's common name.
    pub name: Option<String>,
    /// The subject's organisation and organisational unit, as written.
    pub organisations: Vec<String>,
    /// Digits of an identity number carried in the subject (UID or serialNumber, e.g.
    /// `CCCD:001085012345`); empty when there is none.
    pub id_number: Option<String>,
}

impl CertHolder {
    /// The identity number inside an attribute such as `CCCD:001085012345`,
    /// `CMND:012345678` or a bare run of 9 or 12 digits; `None` for anything else (a tax
    /// code, a device serial).
    pub fn id_number_in(attr: &str) -> Option<String> {
        let digits: String = attr.chars().filter(char::is_ascii_digit).collect();
        let upper = attr.to_uppercase();
        let labelled = ["CCCD", "CMND", "CMT", "HC", "PASSPORT"]
            .iter()
            .any(|l| upper.contains(l));
        let bare = attr.trim().chars().all(|c| c.is_ascii_digit());
        ((labelled || bare) && matches!(digits.len(), 9 | 12)).then_some(digits)
    }
}

/// The subscriber the certificate is being recorded for, as the registry has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryHolder {
    pub name: String,
    /// The subscriber's agency's name, then its parents' up to the province: a certificate may
    /// name any of them (a unit's staff often carry the department's name).
    pub agencies: Vec<String>,
    /// Empty when not recorded.
    pub id_number: String,
}

/// One way a certificate does not name the subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Name {
        certificate: String,
        registry: String,
    },
    Agency {
        certificate: Vec<String>,
        registry: String,
    },
    IdNumber {
        certificate: String,
        registry: String,
    },
}

impl Mismatch {
    pub fn message_vi(&self) -> String {
        match self {
            Mismatch::Name {
                certificate,
                registry,
            } => format!(
                "Chứng thư số mang tên \"{certificate}\", thuê bao trong danh mục là \"{registry}\"."
            ),
            Mismatch::Agency {
                certificate,
                registry,
            } => format!(
                "Chứng thư số ghi cơ quan \"{}\", thuê bao thuộc \"{registry}\".",
                certificate.join(" / ")
            ),
            Mismatch::IdNumber {
                certificate,
                registry,
            } => format!(
                "Số định danh trong chứng thư số là {certificate}, trong danh mục là {registry}."
            ),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Mismatch::Name {
                certificate,
                registry,
            } => format!(
                "The certificate names \"{certificate}\"; the registry's subscriber is \"{registry}\"."
            ),
            Mismatch::Agency {
                certificate,
                registry,
            } => format!(
                "The certificate names the agency \"{}\"; the subscriber belongs to \"{registry}\".",
                certificate.join(" / ")
            ),
            Mismatch::IdNumber {
                certificate,
                registry,
            } => format!(
                "The certificate carries identity number {certificate}; the registry has {registry}."
            ),
        }
    }
}

/// Where the certificate and the registry disagree about the holder: the name (compared
/// without case or diacritics), the agency when the certificate names one (any of the
/// subscriber's agency and its parents, either containing the other), and the identity number
/// when both have one.
pub fn holder_mismatches(cert: &CertHolder, registry: &RegistryHolder) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let squash = |s: &str| {
        fold(s)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| match w {
                "ubnd" => "uy ban nhan dan",
                "hdnd" => "hoi dong nhan dan",
                w => w,
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match &cert.name {
        Some(n) if squash(n) == squash(&registry.name) => {}
        other => out.push(Mismatch::Name {
            certificate: other.clone().unwrap_or_default(),
            registry: registry.name.clone(),
        }),
    }
    if !cert.organisations.is_empty() {
        let known: Vec<String> = registry.agencies.iter().map(|a| squash(a)).collect();
        // Whole words: one name inside the other ("Sở Tài chính" in "Sở Tài chính tỉnh Demo").
        let inside = |a: &str, b: &str| format!(" {b} ").contains(&format!(" {a} "));
        let named = cert.organisations.iter().any(|o| {
            let o = squash(o);
            !o.is_empty() && known.iter().any(|k| inside(&o, k) || inside(k, &o))
        });
        if !named {
            out.push(Mismatch::Agency {
                certificate: cert.organisations.clone(),
                registry: registry.agencies.first().cloned().unwrap_or_default(),
            });
        }
    }
    if let Some(id) = &cert.id_number {
        let own: String = registry
            .id_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if !own.is_empty() && own != *id {
            out.push(Mismatch::IdNumber {
                certificate: id.clone(),
                registry: own,
            });
        }
    }
    out
}

/// Why a certificate's validity does not fit Decree 68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidityProblem {
    /// Its end is not after its start.
    Empty,
    /// A new certificate valid for more than five years.
    TooLong { until: Date, latest: Date },
    /// A renewal that adds more than three years to the renewed certificate's end.
    RenewalTooLong { until: Date, latest: Date },
}

impl ValidityProblem {
    pub fn message_vi(&self) -> String {
        match self {
            ValidityProblem::Empty => {
                "Chứng thư số có ngày hết hạn không sau ngày bắt đầu hiệu lực.".to_owned()
            }
            ValidityProblem::TooLong { until, latest } => format!(
                "Chứng thư số có hiệu lực đến {}, quá {NEW_MAX_YEARS} năm theo Điều 9 Nghị định \
                 68/2024/NĐ-CP (chậm nhất {}).",
                day_text(*until),
                day_text(*latest)
            ),
            ValidityProblem::RenewalTooLong { until, latest } => format!(
                "Chứng thư số gia hạn có hiệu lực đến {}, quá {RENEWAL_MAX_YEARS} năm sau hạn của \
                 chứng thư cũ theo Điều 9 Nghị định 68/2024/NĐ-CP (chậm nhất {}).",
                day_text(*until),
                day_text(*latest)
            ),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            ValidityProblem::Empty => {
                "The certificate's validity ends before it starts.".to_owned()
            }
            ValidityProblem::TooLong { until, latest } => format!(
                "The certificate is valid until {}, more than {NEW_MAX_YEARS} years (Decree 68 \
                 Art. 9; at the latest {}).",
                day_text(*until),
                day_text(*latest)
            ),
            ValidityProblem::RenewalTooLong { until, latest } => format!(
                "The renewed certificate is valid until {}, more than {RENEWAL_MAX_YEARS} years \
                 past the old one's end (Decree 68 Art. 9; at the latest {}).",
                day_text(*until),
                day_text(*latest)
            ),
        }
    }
}

/// `d` plus `years` calendar years (29 February becomes 1 March when the year has none).
fn add_years(d: Date, years: i32) -> Date {
    let y = d.year() + years;
    Date::from_calendar_date(y, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(y, Month::March, 1))
        .unwrap_or(d)
}

/// Whether a validity fits Decree 68: a new certificate ends at most five calendar years after
/// it starts; a renewal (`renews` = the renewed certificate's end) at most three years after
/// that end. Dates are compared in UTC+7 with a day's grace, since CAs write the end as the
/// last second of a day or the first of the next.
pub fn validity_problem(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    renews: Option<OffsetDateTime>,
) -> Option<ValidityProblem> {
    if not_after <= not_before {
        return Some(ValidityProblem::Empty);
    }
    let local = |t: OffsetDateTime| t.to_offset(crate::calendar::VIETNAM).date();
    let until = local(not_after);
    let (from, years) = match renews {
        Some(old) => (local(old).max(local(not_before)), RENEWAL_MAX_YEARS),
        None => (local(not_before), NEW_MAX_YEARS),
    };
    let latest = add_years(from, years);
    if until <= latest.next_day().unwrap_or(latest) {
        return None;
    }
    Some(match renews {
        Some(_) => ValidityProblem::RenewalTooLong { until, latest },
        None => ValidityProblem::TooLong { until, latest },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn holder() -> RegistryHolder {
        RegistryHolder {
            name: "Nguyễn Văn An".into(),
            agencies: vec![
                "Phòng Kế hoạch - Tài chính".into(),
                "Sở Tài chính tỉnh Demo".into(),
                "UBND tỉnh Demo".into(),
            ],
            id_number: "001085012345".into(),
        }
    }

    #[test]
    fn the_same_person_written_another_way_matches() {
        let c = CertHolder {
            name: Some("NGUYEN VAN  AN".into()),
            organisations: vec!["Sở Tài chính".into()],
            id_number: Some("001085012345".into()),
        };
        assert_eq!(holder_mismatches(&c, &holder()), vec![]);
        let province = CertHolder {
            name: Some("Nguyễn Văn An".into()),
            organisations: vec!["UBND Tỉnh Demo".into()],
            id_number: None,
        };
        assert_eq!(holder_mismatches(&province, &holder()), vec![]);
        // A fragment of a word is not the agency's name.
        let fragment = CertHolder {
            name: Some("Nguyễn Văn An".into()),
            organisations: vec!["Sở Tài".into(), "VN".into()],
            id_number: None,
        };
        assert_eq!(holder_mismatches(&fragment, &holder()).len(), 0);
        let other = CertHolder {
            organisations: vec!["Tài chính Xanh".into()],
            ..fragment
        };
        assert_eq!(holder_mismatches(&other, &holder()).len(), 1);
        // A certificate that names no organisation and no number is judged by its name.
        let bare = CertHolder {
            name: Some("Nguyễn Văn An".into()),
            ..Default::default()
        };
        assert_eq!(holder_mismatches(&bare, &holder()), vec![]);
    }

    #[test]
    fn another_person_agency_or_number_is_named() {
        let c = CertHolder {
            name: Some("Nguyễn Văn Anh".into()),
            organisations: vec!["Sở Y tế".into()],
            id_number: Some("001085099999".into()),
        };
        let m = holder_mismatches(&c, &holder());
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].message_vi().contains("Nguyễn Văn Anh"));
        assert!(m[1].message_vi().contains("Sở Y tế"));
        assert!(m[2].message_vi().contains("001085099999"));
        // Without a name at all, the name does not match.
        assert!(matches!(
            holder_mismatches(&CertHolder::default(), &holder())[..],
            [Mismatch::Name { .. }]
        ));
        // The registry without an ID number has nothing to disagree with.
        let mut h = holder();
        h.id_number.clear();
        let c = CertHolder {
            name: Some("Nguyễn Văn An".into()),
            id_number: Some("001085099999".into()),
            ..Default::default()
        };
        assert_eq!(holder_mismatches(&c, &h), vec![]);
    }

    #[test]
    fn identity_numbers_are_read_from_their_usual_forms() {
        assert_eq!(
            CertHolder::id_number_in("CCCD:001085012345").as_deref(),
            Some("001085012345")
        );
        assert_eq!(
            CertHolder::id_number_in("CMND:012345678").as_deref(),
            Some("012345678")
        );
        assert_eq!(
            CertHolder::id_number_in("001085012345").as_deref(),
            Some("001085012345")
        );
        assert_eq!(CertHolder::id_number_in("MST:0101234567"), None);
        assert_eq!(CertHolder::id_number_in("TOKEN-12345678"), None);
    }

    #[test]
    fn decree_68_limits_new_certificates_to_five_years_and_renewals_to_three_more() {
        let start = datetime!(2026-06-01 09:00 +07:00);
        let five = datetime!(2031-06-01 23:59:59 +07:00);
        assert_eq!(validity_problem(start, five, None), None);
        let six = datetime!(2032-06-01 00:00 +07:00);
        let p = validity_problem(start, six, None).unwrap();
        assert!(matches!(p, ValidityProblem::TooLong { .. }));
        assert!(p.message_vi().contains("01/06/2031"), "{}", p.message_vi());
        assert_eq!(
            validity_problem(start, start, None),
            Some(ValidityProblem::Empty)
        );

        let old_end = datetime!(2027-01-15 17:00 +07:00);
        assert_eq!(
            validity_problem(start, datetime!(2030-01-15 17:00 +07:00), Some(old_end)),
            None
        );
        let p = validity_problem(start, datetime!(2031-01-15 17:00 +07:00), Some(old_end)).unwrap();
        assert!(matches!(p, ValidityProblem::RenewalTooLong { .. }));
        assert!(p.message_vi().contains("15/01/2030"), "{}", p.message_vi());
        // A leap day starts a period that ends on 1 March.
        assert_eq!(
            validity_problem(
                datetime!(2028-02-29 00:00 +07:00),
                datetime!(2033-03-01 12:00 +07:00),
                None
            ),
            None
        );
    }
}
