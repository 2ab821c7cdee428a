//! The demo offered on first start: a fictional province ("Tỉnh Demo") with its agencies,
//! people, devices, the certificates of kyso's demo PKI, the Department's register of outgoing
//! công văn, where its request letters go, and a first administrator.
//! Every name, date and number here is invented.

use kyso_domain::roles::Role;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::accounts::{self, NewUser, RoleOn};
use crate::registry::{self, AgencyInput, DeviceEventInput, DeviceInput, SubscriberInput};
use crate::{Actor, Result, Store};

/// The first administrator's user name.
pub const ADMIN: &str = "admin";

/// What the seeding made.
#[derive(Debug)]
pub struct Seeded {
    pub agencies: usize,
    pub subscribers: usize,
    pub certificates: usize,
    /// The administrator's one-time password: print it once, never store it.
    pub admin_password: Zeroizing<String>,
}

struct Person {
    name: &'static str,
    dob: &'static str,
    id_number: &'static str,
    title: &'static str,
    unit: &'static str,
    agency: &'static str,
    /// The demo PKI entity whose certificate this person holds.
    cert: Option<&'static str>,
    token: Option<&'static str>,
}

const AGENCIES: &[(&str, &str, &str, Option<&str>)] = &[
    ("H99", "Ủy ban nhân dân Tỉnh Demo", "province", None),
    (
        "H99.01",
        "Văn phòng Ủy ban nhân dân Tỉnh Demo",
        "department",
        Some("H99"),
    ),
    ("H99.03", "Sở Nội vụ Tỉnh Demo", "department", Some("H99")),
    (
        "H99.05",
        "Sở Tài chính Tỉnh Demo",
        "department",
        Some("H99"),
    ),
    (
        "H99.10",
        "Sở Giáo dục và Đào tạo Tỉnh Demo",
        "department",
        Some("H99"),
    ),
    (
        "H99.10.01",
        "Trường Trung học phổ thông Demo Một",
        "unit",
        Some("H99.10"),
    ),
    (
        "H99.37",
        "Sở Khoa học và Công nghệ tỉnh Demo",
        "department",
        Some("H99"),
    ),
    (
        "H99.37.01",
        "Trung tâm Chuyển đổi số Tỉnh Demo",
        "unit",
        Some("H99.37"),
    ),
    (
        "H99.51",
        "Ủy ban nhân dân xã Bình An Demo",
        "commune",
        Some("H99"),
    ),
    (
        "H99.52",
        "Ủy ban nhân dân phường Hòa Thuận Demo",
        "commune",
        Some("H99"),
    ),
];

const PEOPLE: &[Person] = &[
    Person {
        name: "Nguyễn Văn An",
        dob: "12/03/1978",
        id_number: "099078000101",
        title: "Phó Giám đốc",
        unit: "Ban Giám đốc",
        agency: "H99.37",
        cert: Some("personal"),
        token: Some("DEMO0001"),
    },
    Person {
        name: "Trần Thị Bình",
        dob: "05/11/1985",
        id_number: "099185000102",
        title: "Văn thư",
        unit: "Văn phòng Sở",
        agency: "H99.37",
        cert: Some("personal2"),
        token: Some("DEMO0002"),
    },
    Person {
        name: "Lê Hoàng Cường",
        dob: "21/07/1990",
        id_number: "099090000103",
        title: "Chuyên viên",
        unit: "Phòng Quản lý công nghệ",
        agency: "H99.37",
        cert: Some("ecdsa"),
        token: Some("DEMO0003"),
    },
    Person {
        name: "Phạm Thu Dung",
        dob: "30/01/1982",
        id_number: "099182000104",
        title: "Chánh Văn phòng",
        unit: "Văn phòng",
        agency: "H99.01",
        cert: Some("ecdsa384"),
        token: None,
    },
    Person {
        name: "Hoàng Minh Đức",
        dob: "14/09/1975",
        id_number: "099075000105",
        title: "Giám đốc",
        unit: "Ban Giám đốc",
        agency: "H99.05",
        cert: Some("expired"),
        token: Some("DEMO0005"),
    },
    Person {
        name: "Vũ Thị Giang",
        dob: "02/02/1988",
        id_number: "099188000106",
        title: "Kế toán trưởng",
        unit: "Phòng Kế hoạch - Tài chính",
        agency: "H99.37",
        cert: Some("expiring"),
        token: None,
    },
    Person {
        name: "Đặng Quốc Hùng",
        dob: "19/12/1980",
        id_number: "099080000107",
        title: "Hiệu trưởng",
        unit: "Ban Giám hiệu",
        agency: "H99.10.01",
        cert: Some("expiring2"),
        token: Some("DEMO0007"),
    },
    Person {
        name: "Bùi Thị Lan",
        dob: "08/06/1992",
        id_number: "099192000108",
        title: "Chủ tịch",
        unit: "Thường trực UBND",
        agency: "H99.51",
        cert: None,
        token: None,
    },
    Person {
        name: "Đỗ Văn Minh",
        dob: "25/04/1979",
        id_number: "099079000109",
        title: "Phó Chủ tịch",
        unit: "Thường trực UBND",
        agency: "H99.52",
        cert: None,
        token: None,
    },
    Person {
        name: "Ngô Thị Ngọc Ánh",
        dob: "11/10/1995",
        id_number: "099195000110",
        title: "Chuyên viên",
        unit: "Phòng Tổ chức cán bộ",
        agency: "H99.03",
        cert: None,
        token: None,
    },
];

/// Seed the demo province. `certs` are the demo PKI's certificates by entity name (DER);
/// missing ones are skipped; the store must trust their issuer ([`Store::trust_issuers`]), and
/// each must name its holder as the registry has them. Returns the administrator's one-time password.
pub async fn seed(
    store: &Store,
    certs: &[(String, Vec<u8>)],
    now: OffsetDateTime,
) -> Result<Seeded> {
    let system = Actor::system();
    let mut ids = std::collections::HashMap::new();
    for (code, name, kind, parent) in AGENCIES {
        let parent_id = parent.and_then(|p| ids.get(p).copied());
        let a = registry::create_agency(
            store,
            &system,
            &AgencyInput {
                code: (*code).into(),
                name: (*name).into(),
                kind: (*kind).into(),
                parent_id,
                address: "Số 1 Đường Demo, Thành phố Demo".into(),
                email: format!(
                    "vanthu.{}@demo.invalid",
                    code.to_lowercase().replace('.', "-")
                ),
                phone: String::new(),
                same_name_confirmed: false,
            },
            now,
        )
        .await?;
        ids.insert(*code, a.id);
    }
    let id_of = |code: &str| ids.get(code).copied().unwrap_or(0);
    let cert = |name: &str| {
        certs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, der)| der.clone())
    };
    let mut n_certs = 0;
    for p in PEOPLE {
        let s = registry::create_subscriber(
            store,
            &system,
            &SubscriberInput {
                kind: "individual".into(),
                agency_id: id_of(p.agency),
                name: p.name.into(),
                date_of_birth: p.dob.into(),
                id_number: p.id_number.into(),
                email: format!(
                    "{}@demo.invalid",
                    kyso_domain::text::fold(p.name).replace(' ', ".")
                ),
                title: p.title.into(),
                unit: p.unit.into(),
                phone: "0900000000".into(),
            },
            now,
        )
        .await?;
        let mut cert_id = None;
        if let Some(der) = p.cert.and_then(cert) {
            let c = registry::import_certificate(
                store,
                &system,
                &registry::CertImport {
                    agency_id: s.agency_id,
                    subscriber_id: Some(s.id),
                    bytes: &der,
                    mismatch_reason: None,
                },
                now,
            )
            .await?;
            cert_id = Some(c.id);
            n_certs += 1;
        }
        if let Some(serial) = p.token {
            let d = registry::create_device(
                store,
                &system,
                &DeviceInput {
                    kind: "token".into(),
                    serial: serial.into(),
                    model: "Token DEMO".into(),
                    agency_id: s.agency_id,
                    state: None,
                    certificate_id: cert_id,
                },
                now,
            )
            .await?;
            registry::device_event(
                store,
                &system,
                d.id,
                &DeviceEventInput {
                    event: "assign".into(),
                    holder_id: Some(s.id),
                    counterpart: "Văn thư cơ quan".into(),
                    note: "Bàn giao theo Mẫu 07 (demo)".into(),
                },
                now,
            )
            .await?;
        }
    }
    // The Department's organization certificate.
    let org = registry::create_subscriber(
        store,
        &system,
        &SubscriberInput {
            kind: "organization".into(),
            agency_id: id_of("H99.37"),
            name: "Sở Khoa học và Công nghệ tỉnh Demo".into(),
            email: "skhcn@demo.invalid".into(),
            ..Default::default()
        },
        now,
    )
    .await?;
    if let Some(der) = cert("organization") {
        registry::import_certificate(
            store,
            &system,
            &registry::CertImport {
                agency_id: org.agency_id,
                subscriber_id: Some(org.id),
                bytes: &der,
                mismatch_reason: None,
            },
            now,
        )
        .await?;
        n_certs += 1;
    }
    for serial in ["DEMO1001", "DEMO1002", "DEMO1003"] {
        registry::create_device(
            store,
            &system,
            &DeviceInput {
                kind: "token".into(),
                serial: serial.into(),
                model: "Token DEMO".into(),
                agency_id: id_of("H99.37"),
                state: Some("in_stock".into()),
                certificate_id: None,
            },
            now,
        )
        .await?;
    }
    // The Department's register of outgoing công văn (Decree 30 Appendix IV: one series per
    // register, "Số: 01/SKHCN-VP"). Its request letters to the national CA are công văn, so the
    // demo's Department can number them; its other types wait for a register the clerk opens.
    crate::documents::create_register(
        store,
        &system,
        &crate::documents::RegisterInput {
            agency_id: id_of("H99.37"),
            code: "CV".into(),
            name: "Sổ đăng ký công văn đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: vec![kyso_domain::documents::DocType::CongVan],
        },
        now,
    )
    .await?;
    // Where the request letters go (issue 17 item 10), by identifier code: the Department
    // itself and the national CA (whose code here is invented). The letters are công văn of
    // the requesting agency: its administrator creates the drafters, signers and clerks (and
    // opens the register of any other agency that sends requests), as for any outgoing
    // document.
    crate::requests::set_request_recipients(
        store,
        &system,
        &crate::requests::RequestRecipients {
            department: "H99.37".into(),
            national_ca: "G11.07.05".into(),
        },
        now,
    )
    .await?;
    // The first administrator: Department administrator on the province.
    let placeholder = accounts::one_time_password()?;
    let admin = accounts::create_user(
        store,
        &system,
        NewUser {
            username: ADMIN.into(),
            full_name: "Quản trị hệ thống (demo)".into(),
            email: "quantri@demo.invalid".into(),
            agency_id: id_of("H99"),
            password: Zeroizing::new(format!("{}{}", placeholder.as_str(), "-init")),
            roles: vec![RoleOn {
                role: Role::DostAdmin.as_str().into(),
                agency_id: id_of("H99"),
            }],
            must_change_password: false,
        },
        now,
    )
    .await?;
    let admin_password = accounts::set_one_time_password(store, &system, admin.id, now).await?;
    Ok(Seeded {
        agencies: AGENCIES.len(),
        subscribers: PEOPLE.len() + 1,
        certificates: n_certs,
        admin_password,
    })
}

/// Create only the first administrator on a root agency (for `--no-demo` on an empty
/// database the caller creates the root agency first).
pub async fn first_admin(
    store: &Store,
    agency_id: i64,
    now: OffsetDateTime,
) -> Result<Zeroizing<String>> {
    let system = Actor::system();
    let placeholder = accounts::one_time_password()?;
    let admin = accounts::create_user(
        store,
        &system,
        NewUser {
            username: ADMIN.into(),
            full_name: "Quản trị hệ thống".into(),
            email: String::new(),
            agency_id,
            password: Zeroizing::new(format!("{}-init", placeholder.as_str())),
            roles: vec![RoleOn {
                role: Role::DostAdmin.as_str().into(),
                agency_id,
            }],
            must_change_password: false,
        },
        now,
    )
    .await?;
    accounts::set_one_time_password(store, &system, admin.id, now).await
}
