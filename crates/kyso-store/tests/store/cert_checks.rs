//! A certificate is checked before the registry keeps it: the officer of the Department imports
//! certificates for Nguyễn Văn An (ID card 099078000101) and meets, one by one, a certificate of
//! a CA the province does not trust, one that cannot sign, one valid for six years, a renewal
//! that adds four, and certificates naming another person, another agency or another ID number
//! — refused until a reason is given, which the audit log keeps. Both engines.

use kyso_store::registry::{self, CertImport};
use kyso_store::testing::{backends, TestCa, TestDb};
use kyso_store::{audit, Actor, Error};
use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose, SerialNumber};
use time::{Duration, OffsetDateTime};

use super::{person, province, NOW};

/// A certificate for `cn` (with `extra` subject attributes), valid from `from` to `to`,
/// certified by the tests' CA unless `issuer` is another.
struct Draft<'a> {
    cn: &'a str,
    serial: u64,
    from: OffsetDateTime,
    to: OffsetDateTime,
    org: Option<&'a str>,
    uid: Option<&'a str>,
    usages: Vec<KeyUsagePurpose>,
    key: Option<&'a KeyPair>,
}

impl<'a> Draft<'a> {
    fn new(cn: &'a str, serial: u64) -> Self {
        Draft {
            cn,
            serial,
            from: NOW - Duration::days(10),
            to: NOW + Duration::days(700),
            org: None,
            uid: None,
            usages: vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ],
            key: None,
        }
    }

    fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, self.cn);
        if let Some(o) = self.org {
            p.distinguished_name.push(DnType::OrganizationName, o);
        }
        if let Some(uid) = self.uid {
            p.distinguished_name.push(
                DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 1]),
                uid,
            );
        }
        p.serial_number = Some(SerialNumber::from(self.serial.to_be_bytes().to_vec()));
        p.not_before = self.from;
        p.not_after = self.to;
        p.key_usages = self.usages.clone();
        p
    }

    fn pem(&self) -> String {
        let own = KeyPair::generate().unwrap();
        TestCa::get().sign(&self.params(), self.key.unwrap_or(&own))
    }

    /// The same certificate from a CA nobody trusts.
    fn pem_from_stranger(&self) -> String {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "CA lạ không được tin cậy");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let issuer = rcgen::Issuer::new(ca, ca_key);
        self.params()
            .signed_by(&KeyPair::generate().unwrap(), &issuer)
            .unwrap()
            .pem()
    }
}

fn refusal(r: Result<registry::Certificate, Error>) -> (&'static str, String) {
    match r {
        Err(Error::Invalid { field, vi, .. }) => (field, vi),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_certificate_is_checked_before_the_registry_keeps_it() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let s = &db.store;
        let p = province(s).await;
        let system = Actor::system();
        let sys = &system;
        let an = registry::create_subscriber(s, sys, &person(p.dost, "Nguyễn Văn An"), NOW)
            .await
            .unwrap();
        let (dost, an_id) = (p.dost, an.id);
        let import = |bytes: String, reason: Option<&str>| {
            let reason = reason.map(str::to_owned);
            async move {
                registry::import_certificate(
                    s,
                    sys,
                    &CertImport {
                        agency_id: dost,
                        subscriber_id: Some(an_id),
                        bytes: bytes.as_bytes(),
                        mismatch_reason: reason,
                    },
                    NOW,
                )
                .await
            }
        };

        // Not from a CA the province trusts.
        let (field, vi) =
            refusal(import(Draft::new("Nguyễn Văn An", 0x10).pem_from_stranger(), None).await);
        assert_eq!(field, "certificate", "{b:?}");
        assert!(
            vi.contains("không do tổ chức chứng thực tin cậy cấp"),
            "{vi}"
        );
        assert!(vi.contains("CA lạ không được tin cậy"), "{vi}");

        // Cannot sign: key encipherment only.
        let mut d = Draft::new("Nguyễn Văn An", 0x11);
        d.usages = vec![KeyUsagePurpose::KeyEncipherment];
        let (field, vi) = refusal(import(d.pem(), None).await);
        assert_eq!(field, "certificate");
        assert!(vi.contains("không dùng để ký được"), "{vi}");

        // Six years: more than Decree 68 allows a new certificate.
        let mut d = Draft::new("Nguyễn Văn An", 0x12);
        d.to = d.from + Duration::days(6 * 365);
        let (field, vi) = refusal(import(d.pem(), None).await);
        assert_eq!(field, "certificate");
        assert!(
            vi.contains("quá 5 năm") && vi.contains("Nghị định 68"),
            "{vi}"
        );

        // Another person's name, another agency, another ID number: each is named, and
        // nothing is kept until the officer says why.
        let mut d = Draft::new("Nguyễn Văn Anh", 0x13);
        d.org = Some("Sở Y tế");
        d.uid = Some("CCCD:099078000999");
        let pem = d.pem();
        let (field, vi) = refusal(import(pem.clone(), None).await);
        assert_eq!(field, "mismatch_reason");
        assert!(
            vi.contains("\"Nguyễn Văn Anh\"") && vi.contains("\"Nguyễn Văn An\""),
            "{vi}"
        );
        assert!(
            vi.contains("Sở Y tế") && vi.contains("Sở Khoa học và Công nghệ"),
            "{vi}"
        );
        assert!(
            vi.contains("099078000999") && vi.contains("099078000101"),
            "{vi}"
        );
        let (field, _) = refusal(import(pem.clone(), Some("   ")).await);
        assert_eq!(field, "mismatch_reason", "a blank reason is no reason");
        let kept = import(
            pem,
            Some("Chứng thư cấp theo tên cũ, đã có quyết định đổi tên"),
        )
        .await
        .unwrap();
        let entries = audit::list(s, sys, &audit::Filter::default())
            .await
            .unwrap();
        let entry = entries
            .iter()
            .find(|e| e.object == format!("certificate:{}", kept.id))
            .unwrap();
        assert!(
            entry.detail.contains("đã có quyết định đổi tên"),
            "{}",
            entry.detail
        );
        assert!(entry.detail.contains("Nguyễn Văn Anh"), "{}", entry.detail);

        // The right person written in capitals without diacritics, of the Department, with
        // the right number: no question asked.
        let mut d = Draft::new("NGUYEN VAN AN", 0x14);
        d.org = Some("Sở Khoa học và Công nghệ");
        d.uid = Some("CCCD:099078000101");
        let key = KeyPair::generate().unwrap();
        d.key = Some(&key);
        d.to = NOW + Duration::days(60);
        let current = import(d.pem(), None).await.unwrap();

        // Its renewal keeps the key: at most three more years past the old end.
        let mut renewal = Draft::new("Nguyễn Văn An", 0x15);
        renewal.key = Some(&key);
        renewal.from = NOW;
        renewal.to = current.not_after + Duration::days(4 * 365);
        let (field, vi) = refusal(import(renewal.pem(), None).await);
        assert_eq!(field, "certificate");
        assert!(vi.contains("gia hạn") && vi.contains("quá 3 năm"), "{vi}");
        renewal.to = current.not_after + Duration::days(3 * 365 - 10);
        let renewed = import(renewal.pem(), None).await.unwrap();
        let entries = audit::list(s, sys, &audit::Filter::default())
            .await
            .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.object == format!("certificate:{}", renewed.id)
                && e.detail.contains("\"renewal\":true")));

        // The whole chain in the file is used to reach the trusted root; a CA's own
        // certificate is not a subscriber's.
        let ca_pem = TestCa::get().anchors().anchors()[0].to_pem();
        let (field, vi) = refusal(
            registry::import_certificate(
                s,
                sys,
                &CertImport {
                    agency_id: dost,
                    bytes: ca_pem.as_bytes(),
                    ..Default::default()
                },
                NOW,
            )
            .await,
        );
        assert_eq!(field, "certificate");
        assert!(vi.contains("tổ chức chứng thực"), "{vi}");
    }
}
