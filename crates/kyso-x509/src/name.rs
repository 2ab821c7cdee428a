//! Comparing distinguished names: exact DER first, then a normalised form so that equal
//! names encoded differently (PrintableString vs UTF8String vs BMPString, letter case,
//! surrounding or repeated spaces, attribute order inside an RDN) still chain.

use der::{Tag, Tagged};
use x509_cert::name::Name;

use crate::cert::decode_directory_string;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Text(String),
    Raw(Vec<u8>),
}

type Normalised = Vec<Vec<(String, Value)>>;

fn normalise(name: &Name) -> Normalised {
    name.iter_rdn()
        .map(|rdn| {
            let mut atvs: Vec<(String, Value)> = rdn
                .iter()
                .map(|atv| {
                    let text = match atv.value.tag() {
                        Tag::Utf8String
                        | Tag::PrintableString
                        | Tag::Ia5String
                        | Tag::VisibleString
                        | Tag::TeletexString
                        | Tag::BmpString => decode_directory_string(&atv.value),
                        _ => None,
                    };
                    let value = match text {
                        Some(t) => Value::Text(
                            t.split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                                .to_lowercase(),
                        ),
                        None => Value::Raw(der::Encode::to_der(&atv.value).unwrap_or_default()),
                    };
                    (atv.oid.to_string(), value)
                })
                .collect();
            atvs.sort();
            atvs
        })
        .collect()
}

/// Whether two names denote the same entity (RFC 5280 §7.1, simplified).
pub(crate) fn names_match(a: &Name, b: &Name) -> bool {
    a == b || normalise(a) == normalise(b)
}

/// Whether `name` lies in the subtree rooted at `base` (its RDNs start with `base`'s,
/// compared as in [`names_match`]).
pub(crate) fn name_within(name: &Name, base: &Name) -> bool {
    let (n, b) = (normalise(name), normalise(base));
    n.get(..b.len())
        .is_some_and(|prefix| prefix == b.as_slice())
}
