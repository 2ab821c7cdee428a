//! The edXML envelope from the outside: what kyso writes is read back field for field with the
//! files byte-exact (a fixed envelope against its golden file, and any envelope by property),
//! and hostile packages — billion laughs, an external entity, a 1 GB attachment, deep nesting,
//! missing fields, bad base64, bytes that are not UTF-8 — are refused with the error that says
//! why, in both languages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use kyso_edxml::*;
use proptest::prelude::*;

/// A signed-PDF-like file: every byte value, a PDF header, binary noise.
fn pdf_bytes() -> Vec<u8> {
    let mut b = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    b.extend((0..=255u8).cycle().take(5000));
    b.extend_from_slice(b"\n%%EOF\n");
    b
}

/// The envelope a Sở sends to two agencies: every header field set.
fn sample() -> Envelope {
    Envelope {
        header: MessageHeader {
            from: Organization {
                organ_id: "000.00.37.H41".into(),
                organization_in_charge: "Ủy ban nhân dân tỉnh Nghệ An".into(),
                organ_name: "Sở Khoa học và Công nghệ tỉnh Nghệ An".into(),
                organ_add: "75 Nguyễn Thị Minh Khai, TP. Vinh".into(),
                email: "skhcn@nghean.gov.vn".into(),
                telephone: "0238 3844 500".into(),
                fax: "0238 3844 501".into(),
                website: "https://skhcn.nghean.gov.vn".into(),
            },
            to: vec![
                Organization {
                    organ_id: "000.05.07.G11".into(),
                    organ_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
                    ..Default::default()
                },
                Organization {
                    organ_id: "000.00.12.H41".into(),
                    ..Default::default()
                },
            ],
            code: Code {
                code_number: "012".into(),
                code_notation: "SKHCN-VP".into(),
            },
            promulgation_info: PromulgationInfo {
                place: "Nghệ An".into(),
                promulgation_date: "2026/03/15".into(),
            },
            document_type: DocumentType {
                type_code: 1,
                type_name: "Công văn".into(),
            },
            subject: "V/v cấp chứng thư số chuyên dùng công vụ cho cán bộ <đợt 2> & thu hồi".into(),
            content: "Dòng một\r\nDòng hai\n\ttab".into(),
            signer_info: SignerInfo {
                competence: "KT. GIÁM ĐỐC".into(),
                position: "PHÓ GIÁM ĐỐC".into(),
                full_name: "Nguyễn Văn An".into(),
            },
            due_date: "2026/03/30".into(),
            to_places: vec!["Như trên;".into(), "Lưu: VT, VP.".into()],
            other_info: OtherInfo {
                priority: Some(1),
                sphere_of_promulgation: "Toàn tỉnh".into(),
                typer_notation: "HN.05".into(),
                promulgation_amount: Some(5),
                page_amount: Some(2),
                appendixes: vec!["Danh sách cán bộ".into()],
            },
            response_for: vec![ResponseFor {
                organ_id: "000.05.07.G11".into(),
                code: "45/CTSBMTT-DV".into(),
                promulgation_date: "2026/02/01".into(),
                document_id: "000.05.07.G11,2026/02/01,45/CTSBMTT-DV".into(),
            }],
            steering_type: Some(0),
            document_id: document_id("000.00.37.H41", "2026/03/15", "012/SKHCN-VP"),
        },
        trace: TraceHeaderList {
            trace_headers: vec![TraceHeader {
                organ_id: "000.00.37.H41".into(),
                timestamp: "2026/03/15 09:30:00".into(),
            }],
            business: Some(Business {
                business_doc_type: 0,
                business_doc_reason: "Văn bản điện tử mới".into(),
                document_id: String::new(),
                staff_info: vec![StaffInfo {
                    department: "Văn phòng".into(),
                    staff: "Trần Thị Bình".into(),
                    mobile: "0912 345 678".into(),
                    email: "binh@nghean.gov.vn".into(),
                }],
                paper: "0".into(),
            }),
        },
        attachments: vec![
            Attachment {
                content_id: "van-ban".into(),
                content_type: "application/pdf".into(),
                description: "Văn bản đã ký số".into(),
                name: "012-SKHCN-VP.pdf".into(),
                content: pdf_bytes(),
            },
            Attachment {
                content_id: "phu-luc-1".into(),
                content_type: "application/pdf".into(),
                description: String::new(),
                name: "phu-luc.pdf".into(),
                content: Vec::new(),
            },
        ],
    }
}

fn status() -> StatusMessage {
    StatusMessage {
        response_for: ResponseFor {
            organ_id: "000.00.37.H41".into(),
            code: "012/SKHCN-VP".into(),
            promulgation_date: "2026/03/15".into(),
            document_id: "000.00.37.H41,2026/03/15,012/SKHCN-VP".into(),
        },
        from: Organization {
            organ_id: "000.05.07.G11".into(),
            organ_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
            ..Default::default()
        },
        status_code: StatusCode::Refused,
        description: "Chữ ký số của văn bản không hợp lệ: nội dung đã bị thay đổi sau khi ký."
            .into(),
        timestamp: "2026/03/15 10:02:11".into(),
        staff_info: StaffInfo {
            department: "Văn thư".into(),
            staff: "Lê Văn Cường".into(),
            ..Default::default()
        },
    }
}

fn golden(name: &str, bytes: &[u8]) {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("KYSO_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let want =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (KYSO_BLESS=1 writes it)"));
    assert!(
        want == bytes,
        "{name} differs from what the writer produces now:\n{}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn the_written_envelope_is_the_golden_file_and_reads_back_whole() {
    let e = sample();
    let xml = write(&e);
    golden("envelope.edxml", &xml);
    let back = read(&xml, Limits::default()).unwrap();
    assert_eq!(back, e);
    assert_eq!(
        back.attachments[0].content,
        pdf_bytes(),
        "the PDF is byte-exact"
    );
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("<edXML:CodeNotation>SKHCN-VP</edXML:CodeNotation>"));
    assert!(text.contains("&lt;đợt 2&gt; &amp; thu hồi"));
    assert!(text.contains("xlink:href=\"cid:van-ban\""));
}

#[test]
fn a_status_message_is_the_golden_file_and_reads_back() {
    let s = status();
    let xml = write_status(&s);
    golden("status-refused.edxml", &xml);
    assert_eq!(read_status(&xml, Limits::default()).unwrap(), s);
    for code in StatusCode::LISTED {
        let s = StatusMessage {
            status_code: code,
            ..status()
        };
        assert_eq!(
            read_status(&write_status(&s), Limits::default())
                .unwrap()
                .status_code,
            code
        );
    }
}

#[test]
fn a_soap_status_from_another_system_is_read() {
    let xml = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header><edXML:Status xmlns:edXML="http://schemas.xmlsoap.org/soap/envelope/"><edXML:ResponseFor><edXML:OrganId>000.00.37.H41</edXML:OrganId><edXML:Code>12/SKHCN-VP</edXML:Code><edXML:PromulgationDate>15/03/2026</edXML:PromulgationDate><edXML:DocumentId>x</edXML:DocumentId></edXML:ResponseFor><edXML:From><edXML:OrganId>000.00.12.H41</edXML:OrganId><edXML:OrganName>Sở Tài chính</edXML:OrganName><edXML:OrganizationInCharge /><edXML:OrganAdd /></edXML:From><edXML:StatusCode>3</edXML:StatusCode><edXML:Description>Đã vào sổ</edXML:Description><edXML:Timestamp>15/03/2026 10:00:00</edXML:Timestamp><edXML:StaffInfo><edXML:Department>VT</edXML:Department><edXML:Staff>A</edXML:Staff></edXML:StaffInfo></edXML:Status></SOAP-ENV:Header><SOAP-ENV:Body /></SOAP-ENV:Envelope>"#;
    let s = read_status(xml.as_bytes(), Limits::default()).unwrap();
    assert_eq!(s.status_code, StatusCode::Received);
    assert_eq!(s.from.organ_name, "Sở Tài chính");
    assert_eq!(
        parse_date(&s.response_for.promulgation_date),
        Some((2026, 3, 15))
    );
}

fn refused(xml: &[u8]) -> Error {
    let e = read(xml, Limits::default()).expect_err("must be refused");
    assert!(!e.message_vi().is_empty() && !e.message_en().is_empty());
    e
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE edXML [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        xml.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    xml.push_str("]>\n<edXML><edXML:edXMLEnvelope>&lol9;</edXML:edXMLEnvelope></edXML>");
    let e = refused(xml.as_bytes());
    assert!(matches!(e, Error::Forbidden(Construct::Doctype)), "{e:?}");
    assert_eq!(e.code(), "dtd");
    assert!(e.message_vi().contains("DTD"));
}

#[test]
fn an_external_entity_is_refused_and_never_read() {
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><edXML><x>&xxe;</x></edXML>";
    assert!(matches!(
        refused(xxe.as_bytes()),
        Error::Forbidden(Construct::Doctype)
    ));
    // Without a DTD the reference is to an undefined entity.
    let bare = write(&sample());
    let text = String::from_utf8(bare)
        .unwrap()
        .replace("Nguyễn Văn An", "&xxe;");
    let e = refused(text.as_bytes());
    assert!(
        matches!(&e, Error::Entity { name } if name == "xxe"),
        "{e:?}"
    );
    let pi = "<?xml version=\"1.0\"?><?xml-stylesheet href=\"http://evil/x.xsl\"?><edXML/>";
    assert!(matches!(
        refused(pi.as_bytes()),
        Error::Forbidden(Construct::ProcessingInstruction)
    ));
}

/// A reader of an envelope whose one attachment claims `size` bytes of base64: the header,
/// then `A`s made on the fly (nothing of it exists in memory).
struct Declared {
    head: Vec<u8>,
    pos: u64,
    size: u64,
    served: u64,
}

impl std::io::Read for Declared {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let head = self.head.len() as u64;
        if self.pos >= head + self.size {
            return Ok(0);
        }
        let mut n = 0;
        while n < buf.len() && self.pos < head + self.size {
            buf[n] = if self.pos < head {
                self.head[self.pos as usize]
            } else {
                b'A'
            };
            n += 1;
            self.pos += 1;
        }
        self.served += n as u64;
        Ok(n)
    }
}

#[test]
fn a_one_gigabyte_attachment_is_refused_without_holding_it() {
    // In memory: the base64 text's length says 1 GB… scaled: limits of 1 MB, text of 2 MB.
    let limits = Limits {
        max_attachment: 1 << 20,
        ..Limits::default()
    };
    let mut e = sample();
    e.attachments[0].content = vec![7u8; 2 << 20];
    let err = read(&write(&e), limits).expect_err("too large");
    assert!(
        matches!(&err, Error::AttachmentTooLarge { size, limit, .. } if *size == 2 << 20 && *limit == 1 << 20),
        "{err:?}"
    );
    assert!(err.message_vi().contains("2 MB"), "{}", err.message_vi());
    // From a stream: a package declaring 1 GB of attachment is cut at max_total.
    let xml = String::from_utf8(write(&sample())).unwrap();
    let cut = xml.find("<ContentTransferEncoded>").unwrap() + "<ContentTransferEncoded>".len();
    let mut stream = Declared {
        head: xml.as_bytes()[..cut].to_vec(),
        pos: 0,
        size: 1 << 30,
        served: 0,
    };
    let limits = Limits::default();
    let err = read_from(&mut stream, limits)
        .unwrap()
        .expect_err("refused");
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == limits.max_total),
        "{err:?}"
    );
    assert!(
        stream.served <= limits.max_total + 1 + 64 * 1024,
        "read {} bytes",
        stream.served
    );
    // Many attachments, each within the limit, still refused by count before decoding.
    let mut e = sample();
    e.attachments = (0..201)
        .map(|i| Attachment {
            content_id: i.to_string(),
            name: format!("{i}.pdf"),
            ..Default::default()
        })
        .collect();
    assert!(matches!(
        refused(&write(&e)),
        Error::TooManyAttachments {
            count: 201,
            limit: 200
        }
    ));
}

#[test]
fn deep_nesting_and_other_excess_are_refused() {
    let deep = format!("<edXML>{}{}</edXML>", "<a>".repeat(100), "</a>".repeat(100));
    assert!(matches!(
        refused(deep.as_bytes()),
        Error::TooDeep { limit: 32 }
    ));
    let attrs: String = (0..17).map(|i| format!(" a{i}=\"x\"")).collect();
    assert!(matches!(
        refused(format!("<edXML{attrs}/>").as_bytes()),
        Error::TooManyAttributes { .. }
    ));
    let mut e = sample();
    e.header.subject = "x".repeat(70_000);
    assert!(matches!(refused(&write(&e)), Error::TextTooLong { .. }));
    // A control character XML 1.0 does not allow, written raw.
    let ctl = String::from_utf8(write(&sample()))
        .unwrap()
        .replace("Nghệ An<", "Nghệ\u{1}An<");
    assert!(matches!(refused(ctl.as_bytes()), Error::Malformed { .. }));
    let tight = Limits {
        max_total: 100,
        ..Limits::default()
    };
    assert!(matches!(
        read(&write(&sample()), tight),
        Err(Error::TooLarge { limit: 100, .. })
    ));
}

#[test]
fn missing_required_fields_are_named() {
    let xml = String::from_utf8(write(&sample())).unwrap();
    let cases = [
        (
            "<edXML:OrganId>000.00.37.H41</edXML:OrganId>",
            "MessageHeader/From/OrganId",
        ),
        (
            "<edXML:CodeNumber>012</edXML:CodeNumber>",
            "MessageHeader/Code/CodeNumber",
        ),
        (
            "<edXML:CodeNotation>SKHCN-VP</edXML:CodeNotation>",
            "MessageHeader/Code/CodeNotation",
        ),
        (
            "<edXML:PromulgationDate>2026/03/15</edXML:PromulgationDate>",
            "MessageHeader/PromulgationInfo/PromulgationDate",
        ),
        (
            "<edXML:Type>1</edXML:Type>",
            "MessageHeader/DocumentType/Type",
        ),
    ];
    for (cut, field) in cases {
        // The first occurrence is the header's.
        let broken = xml.replacen(cut, "", 1);
        let e = refused(broken.as_bytes());
        assert!(
            matches!(&e, Error::Missing { field: f } if *f == field),
            "{field}: {e:?}"
        );
        assert!(e.message_vi().contains("thiếu thông tin bắt buộc"));
    }
    // An attachment without a name, in the package and in the manifest.
    let nameless = xml
        .replace(
            "<edXML:AttachmentName>phu-luc.pdf</edXML:AttachmentName>",
            "",
        )
        .replace("<AttachmentName>phu-luc.pdf</AttachmentName>", "");
    assert!(matches!(
        refused(nameless.as_bytes()),
        Error::Missing {
            field: "AttachmentEncoded/Attachment/AttachmentName"
        }
    ));
    let subject = sample()
        .header
        .subject
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let blank = xml.replace(&subject, "   ");
    assert!(matches!(
        refused(blank.as_bytes()),
        Error::Missing {
            field: "MessageHeader/Subject"
        }
    ));
    let no_to = xml.replace("edXML:To>", "edXML:Xx>");
    assert!(matches!(
        refused(no_to.as_bytes()),
        Error::Missing {
            field: "MessageHeader/To"
        }
    ));
    let twice = xml.replacen(
        "<edXML:Subject>",
        "<edXML:Subject>x</edXML:Subject><edXML:Subject>",
        1,
    );
    assert!(matches!(refused(twice.as_bytes()), Error::Duplicate { .. }));
    let not_number = xml.replace("<edXML:Type>1</edXML:Type>", "<edXML:Type>một</edXML:Type>");
    assert!(matches!(
        refused(not_number.as_bytes()),
        Error::BadValue { .. }
    ));
    let unlisted = xml.replacen(
        "<ContentId>phu-luc-1</ContentId>",
        "<ContentId>other</ContentId>",
        1,
    );
    assert!(matches!(
        refused(unlisted.as_bytes()),
        Error::MissingAttachment { content_id } if content_id == "phu-luc-1"
    ));
    assert!(matches!(
        refused(b"<html><body/></html>"),
        Error::NotEdxml { .. }
    ));
}

#[test]
fn bad_base64_is_refused() {
    let xml = String::from_utf8(write(&sample())).unwrap();
    let start = xml.find("<ContentTransferEncoded>").unwrap() + "<ContentTransferEncoded>".len();
    for bad in ["!!!!", "QUJD=QUJD", "QUJ"] {
        let mut broken = xml.clone();
        broken.insert_str(start, bad);
        let e = refused(broken.as_bytes());
        assert!(
            matches!(&e, Error::BadBase64 { name } if name == "012-SKHCN-VP.pdf"),
            "{bad}: {e:?}"
        );
        assert!(e.message_vi().contains("base64"));
    }
    // Line-wrapped base64, as MIME writes it, is fine.
    let end = xml[start..].find('<').unwrap() + start;
    let wrapped: String = xml.as_bytes()[start..end]
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let ok = format!("{}{}{}", &xml[..start], wrapped, &xml[end..]);
    assert_eq!(
        read(ok.as_bytes(), Limits::default()).unwrap().attachments[0].content,
        pdf_bytes()
    );
}

#[test]
fn bytes_that_are_not_utf8_are_refused() {
    let mut xml = write(&sample());
    let needle = "Sở ".as_bytes();
    let at = xml.windows(needle.len()).position(|w| w == needle).unwrap();
    xml[at + 1] = 0xFF;
    assert!(matches!(refused(&xml), Error::NotUtf8 { .. }));
    let utf16: Vec<u8> = "\u{FEFF}<edXML/>"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert!(matches!(refused(&utf16), Error::NotUtf8 { .. }));
    let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><edXML/>";
    assert!(matches!(refused(latin), Error::Encoding { .. }));
    // A UTF-8 byte-order mark is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(write(&sample()));
    assert_eq!(read(&bom, Limits::default()).unwrap(), sample());
}

#[test]
fn streaming_read_writes_the_files_to_the_callers_sinks() {
    let xml = write(&sample());
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut sinks: Vec<std::rc::Rc<std::cell::RefCell<Vec<u8>>>> = Vec::new();
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = read_streaming(&xml, Limits::default(), |i, a| {
        assert_eq!(i, sinks.len());
        let s = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        sinks.push(s.clone());
        files.push((a.name.clone(), Vec::new()));
        Ok(Shared(s))
    })
    .unwrap();
    assert!(e.attachments.iter().all(|a| a.content.is_empty()));
    assert_eq!(sinks[0].borrow().as_slice(), pdf_bytes().as_slice());
    assert_eq!(files[1].0, "phu-luc.pdf");
}

fn text() -> impl Strategy<Value = String> {
    // Any XML 1.0 character, markup and carriage returns included; leading/trailing spaces kept.
    proptest::collection::vec(
        prop_oneof![
            Just('<'),
            Just('&'),
            Just('\r'),
            Just('\n'),
            Just('"'),
            Just(' '),
            proptest::char::range('\u{20}', '\u{D7FF}'),
            proptest::char::range('\u{10000}', '\u{10FFFF}'),
        ],
        0..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn required_text() -> impl Strategy<Value = String> {
    text().prop_map(|s| format!("x{s}"))
}

fn organization() -> impl Strategy<Value = Organization> {
    (
        required_text(),
        text(),
        required_text(),
        text(),
        text(),
        text(),
        text(),
        text(),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| Organization {
            organ_id: a,
            organization_in_charge: b,
            organ_name: c,
            organ_add: d,
            email: e,
            telephone: f,
            fax: g,
            website: h,
        })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let header = (
        organization(),
        proptest::collection::vec(organization(), 1..4),
        (required_text(), required_text(), text(), required_text()),
        (any::<u32>(), text(), required_text(), text()),
        (text(), text(), text(), text()),
        proptest::collection::vec(text(), 0..3),
        (
            proptest::option::of(any::<u32>()),
            text(),
            text(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::collection::vec(text(), 0..3),
        ),
        proptest::collection::vec((text(), text(), text(), text()), 0..2),
        (proptest::option::of(any::<u32>()), text()),
    )
        .prop_map(
            |(
                from,
                to,
                (n, no, place, date),
                (ty, tn, subj, content),
                (c, p, f, due),
                places,
                (pr, sp, tyn, pa, pg, app),
                rf,
                (st, id),
            )| {
                MessageHeader {
                    from,
                    to,
                    code: Code {
                        code_number: n,
                        code_notation: no,
                    },
                    promulgation_info: PromulgationInfo {
                        place,
                        promulgation_date: date,
                    },
                    document_type: DocumentType {
                        type_code: ty,
                        type_name: tn,
                    },
                    subject: subj,
                    content,
                    signer_info: SignerInfo {
                        competence: c,
                        position: p,
                        full_name: f,
                    },
                    due_date: due,
                    to_places: places,
                    other_info: OtherInfo {
                        priority: pr,
                        sphere_of_promulgation: sp,
                        typer_notation: tyn,
                        promulgation_amount: pa,
                        page_amount: pg,
                        appendixes: app,
                    },
                    response_for: rf
                        .into_iter()
                        .map(|(a, b, c, d)| ResponseFor {
                            organ_id: a,
                            code: b,
                            promulgation_date: c,
                            document_id: d,
                        })
                        .collect(),
                    steering_type: st,
                    document_id: id,
                }
            },
        );
    let trace = (
        proptest::collection::vec((text(), text()), 0..3),
        proptest::option::of((
            any::<u32>(),
            text(),
            text(),
            proptest::collection::vec((text(), text(), text(), text()), 0..2),
            text(),
        )),
    )
        .prop_map(|(th, b)| TraceHeaderList {
            trace_headers: th
                .into_iter()
                .map(|(o, t)| TraceHeader {
                    organ_id: o,
                    timestamp: t,
                })
                .collect(),
            business: b.map(|(t, r, d, s, p)| Business {
                business_doc_type: t,
                business_doc_reason: r,
                document_id: d,
                staff_info: s
                    .into_iter()
                    .map(|(a, b, c, d)| StaffInfo {
                        department: a,
                        staff: b,
                        mobile: c,
                        email: d,
                    })
                    .collect(),
                paper: p,
            }),
        });
    let files = proptest::collection::vec(
        (
            text(),
            text(),
            required_text(),
            proptest::collection::vec(any::<u8>(), 0..3000),
        ),
        0..4,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (ct, d, name, content))| Attachment {
                // Content ids are unique within a package.
                content_id: format!("f{i}"),
                content_type: ct,
                description: d,
                name,
                content,
            })
            .collect()
    });
    (header, trace, files).prop_map(|(header, trace, attachments)| Envelope {
        header,
        trace,
        attachments,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_envelope_survives_write_and_read(e in envelope()) {
        let back = read(&write(&e), Limits::default()).unwrap();
        prop_assert_eq!(back, e);
    }

    #[test]
    fn any_status_survives_write_and_read(code in 1u8..=16, d in text(), f in organization(), t in required_text(), id in required_text()) {
        let s = StatusMessage {
            response_for: ResponseFor { organ_id: id.clone(), code: id.clone(), promulgation_date: id, document_id: String::new() },
            from: f,
            status_code: StatusCode::from_number(code).unwrap(),
            description: d,
            timestamp: t,
            staff_info: StaffInfo::default(),
        };
        prop_assert_eq!(read_status(&write_status(&s), Limits::default()).unwrap(), s);
    }

    #[test]
    fn any_bytes_give_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = read(&bytes, Limits::default());
        let _ = read_status(&bytes, Limits::default());
    }
}
