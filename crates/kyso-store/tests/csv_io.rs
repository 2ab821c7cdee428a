//! Bulk import of subscribers in the CA's template and CSV exports, on SQLite and PostgreSQL:
//! a good file lands in the right agencies in one go; a file with one bad row writes nothing
//! and says which row, which column and what is wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_store::csv_io::{self, ExportFormat, TEMPLATE_COLUMNS};
use kyso_store::registry::{self, AgencyInput, CertQuery, SubscriberQuery};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);

fn file(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from("\u{feff}");
    s.push_str(&TEMPLATE_COLUMNS.join(","));
    s.push_str("\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s.into_bytes()
}

/// The province (H99) and its Department of Finance (H99.05).
async fn province(store: &kyso_store::Store) -> (registry::Agency, registry::Agency) {
    let sys = Actor::system();
    let mk = |code: &str, name: &str, parent: Option<i64>| AgencyInput {
        code: code.into(),
        name: name.into(),
        kind: if parent.is_some() {
            "department"
        } else {
            "province"
        }
        .into(),
        parent_id: parent,
        ..Default::default()
    };
    let root = registry::create_agency(store, &sys, &mk("H99", "UBND Tỉnh Demo", None), NOW)
        .await
        .unwrap();
    let finance = registry::create_agency(
        store,
        &sys,
        &mk("H99.05", "Sở Tài chính", Some(root.id)),
        NOW,
    )
    .await
    .unwrap();
    (root, finance)
}

#[tokio::test]
async fn a_template_file_is_imported_whole_or_not_at_all() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let sys = Actor::system();
        let (root, finance) = province(store).await;
        let office = registry::create_agency(
            store,
            &sys,
            &AgencyInput {
                code: "H99.05.01".into(),
                name: "Văn phòng Sở".into(),
                kind: "unit".into(),
                parent_id: Some(finance.id),
                ..Default::default()
            },
            NOW,
        )
        .await
        .unwrap();

        // Row 3 has a date of birth in the future, row 4 a malformed ID number: nothing is written.
        let bad = file(&[
            "Nguyễn Văn An,15/03/1985,001085012345,Cục CS QLHC,01/02/2021,an@stc.example.vn,UBND Tỉnh Demo,Sở Tài chính,Văn phòng Sở,,Demo,Chánh Văn phòng,0912345678,,Viettel,Không,Token",
            "Trần Thị Bình,01/01/2099,001099012345,,,,Sở Tài chính,,,,,,,,,,",
            "Lê Văn Cường,02/02/1990,12-34,,,,,,,,,,,,,,",
        ]);
        let report = csv_io::import_subscribers(store, &sys, root.id, &bad, NOW)
            .await
            .unwrap();
        assert_eq!(report.imported, 0, "{b:?}");
        let found: Vec<(usize, &str)> = report
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str()))
            .collect();
        assert_eq!(
            found,
            [(3, "Ngày sinh"), (4, "Số CCCD")],
            "{b:?}: {report:?}"
        );
        assert!(
            report.errors[0].message.contains("Ngày sinh"),
            "{}",
            report.errors[0].message
        );
        let all = registry::search_subscribers(store, &sys, &SubscriberQuery::default())
            .await
            .unwrap();
        assert_eq!(all.total, 0, "{b:?}: nothing written");

        // The corrected file: An goes to the deepest matching agency, Bình to Finance, Cường
        // (no organisation named) to the chosen agency.
        let good = file(&[
            "Nguyễn Văn An,15/03/1985,001085012345,Cục CS QLHC,01/02/2021,an@stc.example.vn,UBND Tỉnh Demo,Sở Tài chính,Văn phòng Sở,,Demo,Chánh Văn phòng,0912345678,,Viettel,Không,Token",
            "Trần Thị Bình,01/01/1992,001092012345,,,,so tai chinh,,,,,,,,,,",
            "Lê Văn Cường,02/02/1990,001090012345,,,,,,,,,,,,,,",
        ]);
        let report = csv_io::import_subscribers(store, &sys, root.id, &good, NOW)
            .await
            .unwrap();
        assert_eq!(
            (report.imported, report.errors.len()),
            (3, 0),
            "{b:?}: {report:?}"
        );
        let sys_ref = &sys;
        let place = |name: &'static str| async move {
            let page = registry::search_subscribers(
                store,
                sys_ref,
                &SubscriberQuery {
                    q: name.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            page.items[0].agency_id
        };
        assert_eq!(place("Nguyen Van An").await, office.id);
        assert_eq!(place("Tran Thi Binh").await, finance.id);
        assert_eq!(place("Le Van Cuong").await, root.id);

        // A wrong header is refused as a whole.
        let report = csv_io::import_subscribers(
            store,
            &sys,
            root.id,
            b"Ten,Ngay sinh\r\nX,01/01/1990\r\n",
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(report.errors[0].row, 1);

        // Exports: UTF-8 with BOM, Vietnamese intact, dates as dd/mm/yyyy, and audited.
        let csv = csv_io::export_subscribers(
            store,
            &sys,
            &SubscriberQuery {
                agency_id: Some(finance.id),
                ..Default::default()
            },
            ExportFormat::Csv,
            NOW,
        )
        .await
        .unwrap();
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("Nguyễn Văn An") && text.contains("15/03/1985"),
            "{text}"
        );
        assert!(!text.contains("Lê Văn Cường"), "outside the filter");
        let certs =
            csv_io::export_certificates(store, &sys, &CertQuery::default(), ExportFormat::Csv, NOW)
                .await
                .unwrap();
        assert!(String::from_utf8(certs).unwrap().contains("Số hiệu"));
        // The same as an Excel workbook (a ZIP container).
        let xlsx = csv_io::export_certificates(
            store,
            &sys,
            &CertQuery::default(),
            ExportFormat::Xlsx,
            NOW,
        )
        .await
        .unwrap();
        assert!(xlsx.starts_with(b"PK\x03\x04"), "{b:?}");
        // The subscribers' workbook as officers use it: the header frozen with a filter on
        // each column, columns sized to their content, the date of birth a real date shown
        // dd/mm/yyyy (15/03/1985 is Excel's day 31121), the ID number kept as text.
        let xlsx = csv_io::export_subscribers(
            store,
            &sys,
            &SubscriberQuery {
                agency_id: Some(finance.id),
                ..Default::default()
            },
            ExportFormat::Xlsx,
            NOW,
        )
        .await
        .unwrap();
        let sheet = sheet_xml(&xlsx, "xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#),
            "{sheet}"
        );
        assert!(sheet.contains("<autoFilter"), "{sheet}");
        assert!(
            sheet.contains("<cols>") && sheet.contains("customWidth"),
            "{sheet}"
        );
        assert!(sheet.contains("<v>31121</v>"), "a real date: {sheet}");
        let styles = sheet_xml(&xlsx, "xl/styles.xml");
        assert!(styles.contains(r#"formatCode="dd/mm/yyyy""#), "{styles}");
        let entries = audit::list(
            store,
            &sys,
            &audit::Filter {
                action_prefix: Some("subscriber.".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        // One export entry per agency whose people it holds, each under that agency (for the
        // CSV and again for the workbook).
        assert_eq!(
            actions,
            [
                "subscriber.export",
                "subscriber.export",
                "subscriber.export",
                "subscriber.export",
                "subscriber.import"
            ],
            "{b:?}"
        );
        assert!(entries
            .iter()
            .filter(|e| e.action == "subscriber.export")
            .all(|e| e.agency.is_some()));
    }
}

/// A part of an XLSX workbook (a ZIP container), as text.
fn sheet_xml(xlsx: &[u8], name: &str) -> String {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut part = zip.by_name(name).unwrap();
    let mut text = String::new();
    part.read_to_string(&mut text).unwrap();
    text
}

/// Every list of the registry exports with the listing's own filters: devices, requests,
/// agencies and the audit log, as CSV and as a workbook, each export audited.
#[tokio::test]
async fn every_list_exports_with_its_filters_and_each_export_is_audited() {
    for b in backends() {
        let db = TestDb::new(b).await;
        let store = &db.store;
        let sys = Actor::system();
        let (root, finance) = province(store).await;
        for (serial, agency) in [("STC-001", finance.id), ("UBT-001", root.id)] {
            registry::create_device(
                store,
                &sys,
                &registry::DeviceInput {
                    kind: "token".into(),
                    serial: serial.into(),
                    model: "ePass2003".into(),
                    agency_id: agency,
                    ..Default::default()
                },
                NOW,
            )
            .await
            .unwrap();
        }
        let text = |bytes: Vec<u8>| String::from_utf8(bytes[3..].to_vec()).unwrap();

        let devices = text(
            csv_io::export_devices(
                store,
                &sys,
                "",
                None,
                Some(finance.id),
                ExportFormat::Csv,
                NOW,
            )
            .await
            .unwrap(),
        );
        assert!(
            devices.contains("STC-001")
                && devices.contains("Sở Tài chính")
                && devices.contains("ePass2003")
                && !devices.contains("UBT-001"),
            "{b:?}: {devices}"
        );
        let agencies = text(
            csv_io::export_agencies(store, &sys, "tai chinh", None, ExportFormat::Csv, NOW)
                .await
                .unwrap(),
        );
        assert!(
            agencies.contains("H99.05,000.00.05.H99,Sở Tài chính")
                && agencies.contains("UBND Tỉnh Demo")
                && agencies.lines().count() == 2,
            "{b:?}: the managing agency named: {agencies}"
        );
        let requests = text(
            csv_io::export_requests(
                store,
                &sys,
                &kyso_store::requests::RequestQuery::default(),
                ExportFormat::Csv,
                NOW,
            )
            .await
            .unwrap(),
        );
        assert!(
            requests.starts_with("Mã,Biểu mẫu,Loại đề nghị") && requests.lines().count() == 1,
            "{b:?}: {requests}"
        );
        let log = csv_io::export_audit(
            store,
            &sys,
            &audit::Filter {
                action_prefix: Some("device.".into()),
                ..Default::default()
            },
            ExportFormat::Xlsx,
            NOW,
        )
        .await
        .unwrap();
        let sheet = sheet_xml(&log, "xl/sharedStrings.xml");
        assert!(
            sheet.contains("Thêm thiết bị") || sheet.contains("STC-001"),
            "{b:?}: actions in words: {sheet}"
        );
        assert!(!sheet.contains("agency.create"), "{b:?}: the filter holds");

        let accounts = text(
            csv_io::export_users(store, &sys, ExportFormat::Csv, NOW)
                .await
                .unwrap(),
        );
        assert!(
            accounts.starts_with("Tên đăng nhập,Họ và tên") && !accounts.contains("mat-khau"),
            "{b:?}: {accounts}"
        );
        let exports: Vec<String> = audit::list(
            store,
            &sys,
            &audit::Filter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.ends_with(".export"))
        .collect();
        assert_eq!(
            exports,
            [
                "user.export",
                "audit.export",
                "request.export",
                "agency.export",
                "device.export"
            ],
            "{b:?}"
        );
    }
}
