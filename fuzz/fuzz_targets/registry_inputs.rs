//! What users type into the registry: agency identifier codes (both forms), names folded and
//! split into words for search, the stable names of roles/states/events, the per-year holiday calendar (JSON), and
//! a working-day deadline computed from any instant, an archive search form (JSON), a dossier's
//! code and retention. None may panic; a code that parses must survive the round trip through
//! both of its forms; no word of a search may look like an index tag.
#![no_main]

use kyso_domain::calendar::{CalendarConfig, WorkCalendar};
use kyso_domain::codes::AgencyCode;
use kyso_domain::device::{DeviceEvent, DeviceState};
use kyso_domain::lifecycle::{RequestAction, RequestKind, RequestState};
use kyso_domain::roles::Role;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = AgencyCode::parse(&text) {
        let dotted = AgencyCode::parse(&code.dotted()).expect("dotted form parses");
        let legacy = AgencyCode::parse(&code.legacy()).expect("legacy form parses");
        assert_eq!(dotted, code);
        assert_eq!(legacy, code);
        assert!(code.is_within(&code));
        if let Some(parent) = code.parent() {
            assert!(code.is_within(&parent));
        }
    }
    let folded = kyso_domain::text::fold(&text);
    assert_eq!(kyso_domain::text::fold(&folded), folded, "folding is idempotent");
    assert!(kyso_domain::text::matches(&text, &folded), "a text is found by its own words");
    for w in kyso_domain::text::words(&text) {
        let end = kyso_domain::text::prefix_end(&w);
        assert!(end.as_deref().is_none_or(|e| e > w.as_str()), "the range is not empty");
        assert!(kyso_domain::text::matches(&text, &w));
    }
    let _ = Role::parse(&text);
    let _ = DeviceState::parse(&text);
    let _ = DeviceEvent::parse(&text);
    let _ = RequestKind::parse(&text);
    let _ = RequestState::parse(&text);
    let _ = RequestAction::parse(&text);
    let _ = kyso_domain::archive::dossier_code("code", &text);
    let _ = kyso_domain::archive::Retention::parse("retention", &text);
    if let Ok(form) = serde_json::from_slice::<kyso_domain::archive::SearchForm>(data) {
        if let Ok(q) = kyso_domain::archive::Query::parse(&form) {
            for w in q.words.iter().chain(&q.code).chain(&q.signer) {
                assert!(!w.starts_with('_'), "a typed word is never a tag");
                assert!(w.chars().all(char::is_alphanumeric), "a word holds no operator");
            }
            let _ = kyso_domain::archive::month_tags(q.from, q.to);
            let _ = kyso_domain::archive::entry_tags("/1/2/", &form.doc_type, q.from);
        }
    }
    if let Ok(config) = serde_json::from_slice::<CalendarConfig>(data) {
        let calendar = WorkCalendar::from_config(&config);
        let seconds = data.iter().fold(0i64, |a, b| a.wrapping_mul(31).wrapping_add(i64::from(*b)));
        let at = time::OffsetDateTime::from_unix_timestamp(seconds.rem_euclid(4_102_444_800))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let _ = calendar.add_working_days(at, u32::from(data.first().copied().unwrap_or(1)));
    }
});
