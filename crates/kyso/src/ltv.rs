//! `kyso sign --level` and `kyso extend`: the level names and `kyso extend`'s options. The
//! B-LT and B-LTA steps are `kyso_pades::ltv`'s, the network and the extension
//! `kyso_services::signing`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use kyso_i18n::Lang;
use kyso_pades::ltv::Level;
use kyso_services::signing;

/// PAdES baseline levels as the user names them.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelArg {
    /// Chữ ký cơ bản
    #[value(name = "B-B")]
    BB,
    /// Kèm dấu thời gian cho chữ ký (cần --tsa)
    #[value(name = "B-T")]
    BT,
    /// Kèm chứng thư số, OCSP/CRL để kiểm tra lâu dài, cả khi không có mạng (cần --tsa)
    #[value(name = "B-LT")]
    BLt,
    /// Kèm thêm dấu thời gian lưu trữ cho toàn bộ tài liệu (cần --tsa)
    #[value(name = "B-LTA")]
    BLta,
}

impl LevelArg {
    pub fn level(self) -> Level {
        match self {
            LevelArg::BB => Level::BB,
            LevelArg::BT => Level::BT,
            LevelArg::BLt => Level::BLt,
            LevelArg::BLta => Level::BLta,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ExtendArgs {
    /// Tệp PDF đã ký cần nâng mức
    #[arg(value_name = "IN.pdf")]
    input: PathBuf,
    /// Tệp PDF kết quả
    #[arg(short = 'o', long = "output", value_name = "OUT.pdf")]
    output: Option<PathBuf>,
    /// Mức cần đạt: B-LT hoặc B-LTA (chạy lại B-LTA để thêm dấu thời gian lưu trữ mới)
    #[arg(long, value_enum)]
    level: LevelArg,
    /// Địa chỉ dịch vụ cấp dấu thời gian (RFC 3161), cần cho B-LTA
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Ghi đè tệp đầu vào (thay thế nguyên tử)
    #[arg(long)]
    in_place: bool,
    /// Thời gian chờ tối đa mỗi lần gọi TSA/OCSP/CRL, tính bằng giây
    #[arg(long, value_name = "GIÂY", default_value_t = 10)]
    fetch_timeout: u64,
    /// Xuất kết quả dạng JSON trên stdout (lược đồ kyso.extend/1, xem docs/extend-json.md)
    #[arg(long)]
    json: bool,
}

/// `kyso extend`: add validation material (B-LT) and a document timestamp (B-LTA) to a signed
/// document without touching its signatures.
pub fn run_extend(args: ExtendArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let req = signing::ExtendRequest {
        input: args.input,
        output: args.output,
        in_place: args.in_place,
        level: args.level.level(),
        tsa: args.tsa,
        fetch_timeout: args.fetch_timeout,
    };
    let now = crate::clock::now();
    let result = signing::extend(&req, now, crate::clock::now);
    if args.json {
        println!(
            "{}",
            signing::extend_json(&req, result.as_ref().copied(), now, lang)
        );
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
