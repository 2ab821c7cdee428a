//! From glyphs to words and lines, and from lines to the signature region.
//!
//! Each text direction (rounded to a degree) gets its own frame: `u` runs along the baseline,
//! `v` perpendicular to it (up, for upright text). Glyphs whose baselines are within 0.3 × font
//! size are one line; a line is split where a gap exceeds 1.5 em (two columns that share a
//! baseline, like "Nơi nhận:" on the left and "KT. GIÁM ĐỐC" on the right of a letter); words
//! are split at space glyphs, at gaps over 0.18 em (a Times space is 0.25 em, and justification
//! shrinks it a little) and after large `TJ` adjustments. Boxes are in default user space.

use std::collections::BTreeMap;

use unicode_normalization::UnicodeNormalization;

use super::Glyph;

/// Glyphs on baselines closer than this × font size share a line.
const SAME_LINE: f64 = 0.3;
/// A gap wider than this × font size between glyphs is a word break.
const WORD_GAP: f64 = 0.18;
/// A gap wider than this × font size splits a line into two (columns).
const COLUMN_GAP: f64 = 1.5;
/// Glyphs with the same text closer than this × font size are one glyph drawn twice.
const OVERPRINT: f64 = 0.1;
/// Lines of a title block are closer than this × font size (bottom of one to top of next).
const TITLE_GAP: f64 = 1.5;
/// Minimum width of the signature region: 4.5 cm.
const MIN_REGION_WIDTH: f64 = 4.5 / 2.54 * 72.0;
/// A "name" further below the title than this (10 cm) is something else (a footer, the next
/// section): the title then has no name.
const MAX_SIGNING_GAP: f64 = 10.0 / 2.54 * 72.0;
/// Height of the signature region when no name is found: 2.5 cm.
const DEFAULT_REGION_HEIGHT: f64 = 2.5 / 2.54 * 72.0;

/// A rectangle in a text-direction frame: `u` along the baseline, `v` across it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// The direction's angle in whole degrees, 0 for ordinary horizontal text.
    pub angle: i32,
    pub u0: f64,
    pub u1: f64,
    /// Bottom (descent) and top (ascent).
    pub v0: f64,
    pub v1: f64,
    /// The baseline.
    pub baseline: f64,
}

impl Frame {
    fn axes(angle: i32) -> ([f64; 2], [f64; 2]) {
        let a = f64::from(angle).to_radians();
        // Exact zeros for the right angles (cos 90° is 6e-17 in floating point).
        let d = [a.cos(), a.sin()].map(|c| (c * 1e12).round() / 1e12 + 0.0);
        (d, [-d[1], d[0]])
    }

    /// The axis-aligned user-space box of this rectangle.
    pub fn user_bbox(&self) -> [f64; 4] {
        let (d, n) = Self::axes(self.angle);
        let corners = [
            (self.u0, self.v0),
            (self.u1, self.v0),
            (self.u0, self.v1),
            (self.u1, self.v1),
        ];
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (u, v) in corners {
            let x = u * d[0] + v * n[0];
            let y = u * d[1] + v * n[1];
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        // Round away float noise of the rotation (cos 90° is 6e-17, not 0).
        b.map(|c| (c * 1e6).round() / 1e6)
    }

    fn union(&self, o: &Frame) -> Frame {
        Frame {
            angle: self.angle,
            u0: self.u0.min(o.u0),
            u1: self.u1.max(o.u1),
            v0: self.v0.min(o.v0),
            v1: self.v1.max(o.v1),
            baseline: self.baseline.min(o.baseline),
        }
    }

    fn overlaps_u(&self, o: &Frame) -> bool {
        self.u0 < o.u1 && o.u0 < self.u1
    }
}

/// A word: text without spaces and its box.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    /// `[x0, y0, x1, y1]` in default user space.
    pub bbox: [f64; 4],
    pub frame: Frame,
}

/// A line of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// NFC text, words separated by single spaces.
    pub text: String,
    /// `[x0, y0, x1, y1]` in default user space, from the lowest descent to the highest ascent.
    pub bbox: [f64; 4],
    /// The largest font size on the line, in user units.
    pub font_size: f64,
    /// Unit vector of the baseline direction in user space (`[1, 0]` for upright text).
    pub dir: [f64; 2],
    pub words: Vec<Word>,
    /// The line's rectangle in its text-direction frame.
    pub frame: Frame,
}

/// The text of a page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageText {
    /// Lines grouped per text direction (horizontal first), then top to bottom, left to right.
    pub lines: Vec<Line>,
}

impl PageText {
    /// All lines joined with newlines.
    pub fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        lines.join("\n")
    }
}

/// Where a signature goes.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorHit {
    /// 0-based page index.
    pub page: usize,
    /// Text of the title block (its lines joined with a space) and its box.
    pub title: String,
    pub title_bbox: [f64; 4],
    /// The signer's name line below the blank space, when found.
    pub name: Option<String>,
    pub name_bbox: Option<[f64; 4]>,
    /// The blank region between title and name, in default user space.
    pub region: [f64; 4],
    /// Unit vector of the title's baseline in user space: `[1, 0]` for upright text, `[0, 1]`
    /// for text running up the page (drawn for a `/Rotate 90` page). A signature image put in
    /// `region` should be turned the same way to read upright.
    pub dir: [f64; 2],
}

/// Normalise for matching: NFC, Unicode lowercase, white space collapsed to single spaces.
pub fn normalize(s: &str) -> String {
    let lower: String = s.nfc().collect::<String>().to_lowercase();
    let collapsed: Vec<&str> = lower.split_whitespace().collect();
    collapsed.join(" ").nfc().collect()
}

struct Placed<'a> {
    g: &'a Glyph,
    u0: f64,
    u1: f64,
    v: f64,
    index: usize,
}

fn angle_of(dir: [f64; 2]) -> i32 {
    (dir[1].atan2(dir[0]).to_degrees().round() as i32).rem_euclid(360)
}

/// Group glyphs into lines.
pub fn lines(glyphs: &[Glyph]) -> Vec<Line> {
    let mut by_angle: BTreeMap<i32, Vec<Placed<'_>>> = BTreeMap::new();
    for (index, g) in glyphs.iter().enumerate() {
        let angle = angle_of(g.dir);
        let (d, n) = Frame::axes(angle);
        let a = g.origin[0] * d[0] + g.origin[1] * d[1];
        let b = g.end[0] * d[0] + g.end[1] * d[1];
        let v = g.origin[0] * n[0] + g.origin[1] * n[1];
        if !(a.is_finite() && b.is_finite() && v.is_finite()) {
            continue;
        }
        by_angle.entry(angle).or_default().push(Placed {
            g,
            u0: a.min(b),
            u1: a.max(b),
            v,
            index,
        });
    }
    let mut out = Vec::new();
    for (angle, mut placed) in by_angle {
        // Top to bottom, then by drawing order.
        placed.sort_by(|a, b| b.v.total_cmp(&a.v).then(a.index.cmp(&b.index)));
        let mut clusters: Vec<Vec<Placed<'_>>> = Vec::new();
        let mut current: Vec<Placed<'_>> = Vec::new();
        let mut ref_v = 0.0;
        let mut ref_fs = 0.0;
        for p in placed {
            let tol = SAME_LINE * p.g.font_size.max(ref_fs);
            if current.is_empty() || (ref_v - p.v).abs() <= tol {
                if current.is_empty() {
                    ref_v = p.v;
                    ref_fs = p.g.font_size;
                }
                current.push(p);
            } else {
                clusters.push(std::mem::take(&mut current));
                ref_v = p.v;
                ref_fs = p.g.font_size;
                current.push(p);
            }
        }
        if !current.is_empty() {
            clusters.push(current);
        }
        for mut cluster in clusters {
            cluster.sort_by(|a, b| a.u0.total_cmp(&b.u0).then(a.index.cmp(&b.index)));
            build_lines(angle, &cluster, &mut out);
        }
    }
    out
}

fn build_lines(angle: i32, cluster: &[Placed<'_>], out: &mut Vec<Line>) {
    let mut words: Vec<Word> = Vec::new();
    let mut word: Option<(String, Frame)> = None;
    let mut prev_u1: Option<f64> = None;
    let mut line_fs: f64 = 0.0;
    let flush_word = |word: &mut Option<(String, Frame)>, words: &mut Vec<Word>| {
        if let Some((text, frame)) = word.take() {
            let text: String = text.nfc().collect();
            words.push(Word {
                text,
                bbox: frame.user_bbox(),
                frame,
            });
        }
    };
    let flush_line = |words: &mut Vec<Word>, fs: f64, out: &mut Vec<Line>| {
        let mut iter = words.iter();
        let Some(first) = iter.next() else { return };
        let frame = iter.fold(first.frame, |f, w| f.union(&w.frame));
        let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        let (d, _) = Frame::axes(angle);
        out.push(Line {
            text: text.join(" "),
            bbox: frame.user_bbox(),
            font_size: fs,
            dir: d,
            words: std::mem::take(words),
            frame,
        });
    };
    let mut last: Option<&Placed<'_>> = None;
    let mut ink_u1: Option<f64> = None;
    for p in cluster {
        let fs = p.g.font_size;
        // The same glyph drawn again on top of itself (poor man's bold, or a shadow): once.
        if let Some(l) = last {
            if l.g.text == p.g.text
                && (l.u0 - p.u0).abs() < OVERPRINT * fs
                && (l.v - p.v).abs() < OVERPRINT * fs
            {
                continue;
            }
        }
        last = Some(p);
        let gap = prev_u1.map_or(0.0, |e| p.u0 - e);
        let is_space = p.g.text.chars().all(char::is_whitespace);
        // Columns: measured from the last inked glyph, so that a run of spaces typed to push
        // "KT. GIÁM ĐỐC" to the right of "Nơi nhận:" separates them as well as empty space.
        if !is_space {
            if let Some(e) = ink_u1 {
                if p.u0 - e > COLUMN_GAP * fs.max(line_fs) {
                    flush_word(&mut word, &mut words);
                    flush_line(&mut words, line_fs, out);
                    line_fs = 0.0;
                }
            }
            ink_u1 = Some(ink_u1.map_or(p.u1, |e| e.max(p.u1)));
        }
        let starts_with_mark = p.g.text.chars().next().is_some_and(is_combining_mark);
        let breaks = is_space
            || (!starts_with_mark && (gap > WORD_GAP * fs || (p.g.space_before && gap > 0.0)));
        if breaks {
            flush_word(&mut word, &mut words);
        }
        prev_u1 = Some(prev_u1.map_or(p.u1, |e| e.max(p.u1)));
        if is_space {
            continue;
        }
        line_fs = line_fs.max(fs);
        let frame = Frame {
            angle,
            u0: p.u0,
            u1: p.u1,
            v0: p.v + p.g.descent.min(p.g.ascent).min(0.0),
            v1: p.v + p.g.ascent.max(p.g.descent).max(0.0),
            baseline: p.v,
        };
        match &mut word {
            Some((text, f)) => {
                text.push_str(&p.g.text);
                *f = f.union(&frame);
            }
            None => word = Some((p.g.text.clone(), frame)),
        }
    }
    flush_word(&mut word, &mut words);
    flush_line(&mut words, line_fs, out);
}

/// Combining diacritical marks (U+0300–U+036F), which fonts sometimes draw as separate glyphs.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Most lines in a title block ("TM. ỦY BAN NHÂN DÂN" / "KT. CHỦ TỊCH" / "PHÓ CHỦ TỊCH").
const MAX_TITLE_LINES: usize = 6;
/// Most lines tried as the start of an anchor that spans several lines.
const MAX_MULTILINE_STARTS: usize = 256;

/// A title block: its lines (the first is where the anchor matched), their union, and the name
/// line below the blank space when there is one.
struct Block<'a> {
    lines: Vec<&'a Line>,
    frame: Frame,
    name: Option<&'a Line>,
}

/// The title block that starts at `lines[start]`: it takes the closest line below in the same
/// column while the gap is small, and the first line after a large gap is the signer's name.
fn title_block(lines: &[Line], start: usize) -> Option<Block<'_>> {
    let first = lines.get(start)?;
    let angle = first.frame.angle;
    let mut block = Block {
        lines: vec![first],
        frame: first.frame,
        name: None,
    };
    let mut used = vec![start];
    let mut last_fs = first.font_size;
    loop {
        // The closest line below the block that shares its column.
        let below = lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                !used.contains(i)
                    && l.frame.angle == angle
                    && l.frame.baseline < block.frame.baseline - SAME_LINE * last_fs
                    && l.frame.overlaps_u(&block.frame)
            })
            .max_by(|(_, a), (_, b)| a.frame.v1.total_cmp(&b.frame.v1));
        let Some((i, l)) = below else { break };
        let gap = block.frame.v0 - l.frame.v1;
        if gap < TITLE_GAP * last_fs.max(l.font_size) && block.lines.len() < MAX_TITLE_LINES {
            block.frame = block.frame.union(&l.frame);
            block.lines.push(l);
            used.push(i);
            last_fs = l.font_size;
        } else {
            if gap <= MAX_SIGNING_GAP {
                block.name = Some(l);
            }
            break;
        }
    }
    Some(block)
}

/// Whether every letter of the line is uppercase, as Decree 30 writes a signer's title.
fn is_upper(text: &str) -> bool {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .all(|c| !c.is_lowercase())
}

/// Find the anchor (already [`normalize`]d) in `lines` and derive the signature region.
///
/// The anchor matches a substring of one line; when no line contains it, it may span the
/// lines of a title block ("KT. CHỦ TỊCH PHÓ CHỦ TỊCH"). When several lines match, the one that
/// looks most like a signer's title wins: first one followed by a name after a blank space,
/// then one in capitals (so "- Giám đốc Sở (để b/c);" in the "Nơi nhận" list, often lower on
/// the page, loses to "GIÁM ĐỐC"); among equals, the lowest, and on a tie the last drawn.
pub fn locate_in_lines(lines: &[Line], needle: &str) -> Option<AnchorHit> {
    if needle.is_empty() {
        return None;
    }
    let mut matches: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| normalize(&l.text).contains(needle))
        .map(|(i, _)| i)
        .collect();
    if matches.is_empty() {
        let first_word = needle.split(' ').next().unwrap_or(needle);
        let starts = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| normalize(&l.text).contains(first_word))
            .take(MAX_MULTILINE_STARTS);
        for (i, _) in starts {
            let Some(block) = title_block(lines, i) else {
                continue;
            };
            let mut joined = String::new();
            for (k, l) in block.lines.iter().enumerate() {
                if k > 0 {
                    joined.push(' ');
                }
                joined.push_str(&l.text);
                if k > 0 && normalize(&joined).contains(needle) {
                    matches.push(i);
                    break;
                }
            }
        }
    }
    // Rank the lowest candidates only (each costs a scan of the page's lines).
    matches.sort_by(|&a, &b| {
        let base = |i: usize| lines.get(i).map_or(0.0, |l| l.frame.baseline);
        base(a).total_cmp(&base(b)).then(b.cmp(&a))
    });
    matches.truncate(MAX_MULTILINE_STARTS);
    let best = matches.iter().copied().min_by_key(|&i| {
        let has_name = title_block(lines, i).is_some_and(|b| b.name.is_some());
        let upper = lines.get(i).is_some_and(|l| is_upper(&l.text));
        // `min_by_key` keeps the first minimum: candidates are sorted lowest first.
        (!has_name, !upper)
    });
    let block = title_block(lines, best?)?;
    let frame = block.frame;
    let name = block.name;
    let centre = (frame.u0 + frame.u1) / 2.0;
    let mut width = (frame.u1 - frame.u0).max(MIN_REGION_WIDTH);
    if let Some(n) = name {
        width = width.max(n.frame.u1 - n.frame.u0);
    }
    let top = frame.v0;
    let bottom = name.map_or(top - DEFAULT_REGION_HEIGHT, |n| n.frame.v1.min(top));
    let region = Frame {
        angle: frame.angle,
        u0: centre - width / 2.0,
        u1: centre + width / 2.0,
        v0: bottom,
        v1: top,
        baseline: bottom,
    };
    let titles: Vec<&str> = block.lines.iter().map(|l| l.text.as_str()).collect();
    Some(AnchorHit {
        page: 0,
        title: titles.join(" "),
        title_bbox: frame.user_bbox(),
        name: name.map(|n| n.text.clone()),
        name_bbox: name.map(|n| n.bbox),
        region: region.user_bbox(),
        dir: Frame::axes(frame.angle).0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A horizontal run of glyphs, each `w` wide, starting at (x, y), size `fs`.
    fn run(text: &str, x: f64, y: f64, fs: f64) -> Vec<Glyph> {
        let w = fs * 0.5;
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let x0 = x + w * i as f64;
                Glyph {
                    text: c.to_string(),
                    origin: [x0, y],
                    end: [x0 + w, y],
                    dir: [1.0, 0.0],
                    font_size: fs,
                    ascent: 0.8 * fs,
                    descent: -0.2 * fs,
                    space_before: false,
                }
            })
            .collect()
    }

    #[test]
    fn glyphs_on_one_baseline_make_one_line_with_words() {
        let mut g = run("GIÁM", 100.0, 500.0, 10.0);
        // A gap of 8 pt (0.8 em) is a word break, with no space glyph.
        g.extend(run("ĐỐC", 128.0, 500.5, 10.0));
        let lines = lines(&g);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "GIÁM ĐỐC");
        assert_eq!(lines[0].words.len(), 2);
        assert_eq!(lines[0].bbox, [100.0, 498.0, 143.0, 508.5]);
    }

    #[test]
    fn overprinted_glyphs_count_once() {
        let mut g = run("BOLD", 0.0, 0.0, 10.0);
        g.extend(run("BOLD", 0.3, 0.2, 10.0));
        assert_eq!(lines(&g)[0].text, "BOLD");
        // Repeated letters side by side are not overprints.
        assert_eq!(lines(&run("OO", 0.0, 0.0, 10.0))[0].text, "OO");
    }

    #[test]
    fn far_apart_runs_on_one_baseline_are_two_lines() {
        let mut g = run("Nơi nhận:", 60.0, 200.0, 10.0);
        g.extend(run("KT. GIÁM ĐỐC", 350.0, 200.0, 10.0));
        let lines = lines(&g);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Nơi nhận:", "KT. GIÁM ĐỐC"]);
    }

    #[test]
    fn runs_of_spaces_separate_columns_too() {
        // "Nơi nhận:" and the title on one line, pushed apart with typed spaces.
        let text = format!("Nơi nhận:{}KT. GIÁM ĐỐC", " ".repeat(40));
        let lines = lines(&run(&text, 60.0, 200.0, 10.0));
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Nơi nhận:", "KT. GIÁM ĐỐC"]);
        assert!(lines[1].bbox[0] > 250.0);
        // One or two spaces between words do not.
        let lines = self::lines(&run("Độc  lập - Tự do", 0.0, 0.0, 10.0));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "Độc lập - Tự do");
    }

    #[test]
    fn decomposed_text_is_nfc_and_marks_do_not_break_words() {
        // "Ồ" drawn as O + combining circumflex + combining grave, the marks placed far right.
        let mut g = run("O", 0.0, 0.0, 10.0);
        let mut marks = run("\u{302}\u{300}", 9.0, 0.0, 10.0);
        g.append(&mut marks);
        let lines = lines(&g);
        assert_eq!(lines[0].text, "Ồ");
    }

    #[test]
    fn rotated_text_groups_along_its_direction() {
        // Text running up the page (rotated 90°), two lines 14 pt apart (the second one to
        // the right, i.e. "below" in the text's own frame).
        let mk = |text: &str, x: f64| -> Vec<Glyph> {
            text.chars()
                .enumerate()
                .map(|(i, c)| Glyph {
                    text: c.to_string(),
                    origin: [x, 100.0 + 5.0 * i as f64],
                    end: [x, 105.0 + 5.0 * i as f64],
                    dir: [0.0, 1.0],
                    font_size: 10.0,
                    ascent: 8.0,
                    descent: -2.0,
                    space_before: false,
                })
                .collect()
        };
        let mut g = mk("AB", 300.0);
        g.extend(mk("CD", 314.0));
        let lines = lines(&g);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "AB");
        assert_eq!(lines[1].text, "CD");
        // Ascent is to the left of a line running up: x from 300-8 to 300+2.
        assert_eq!(lines[0].bbox, [292.0, 100.0, 302.0, 110.0]);
        assert_eq!(lines[0].dir, [0.0, 1.0]);
    }

    #[test]
    fn normalisation_for_matching() {
        assert_eq!(normalize("  GIÁM\u{a0}  ĐỐC "), "giám đốc");
        // Decomposed input matches composed text.
        assert_eq!(normalize("GIA\u{301}M"), normalize("GIÁM"));
    }

    fn page() -> Vec<Line> {
        let mut g = Vec::new();
        g.extend(run("Nơi nhận:", 60.0, 300.0, 12.0));
        g.extend(run("KT. GIÁM ĐỐC", 380.0, 300.0, 13.0));
        g.extend(run("PHÓ GIÁM ĐỐC", 380.0, 285.0, 13.0));
        g.extend(run("- Như trên;", 60.0, 285.0, 11.0));
        g.extend(run("- Lưu: VT.", 60.0, 272.0, 11.0));
        g.extend(run("Trần Thị Bình", 385.0, 200.0, 13.0));
        lines(&g)
    }

    #[test]
    fn anchor_title_block_name_and_region() {
        let lines = page();
        let hit = locate_in_lines(&lines, &normalize("giám đốc")).unwrap();
        // The lowest match wins, and the block continues with no line below it before the gap.
        assert_eq!(hit.title, "PHÓ GIÁM ĐỐC");
        assert_eq!(hit.name.as_deref(), Some("Trần Thị Bình"));
        let hit = locate_in_lines(&lines, &normalize("KT. GIÁM ĐỐC")).unwrap();
        assert_eq!(hit.title, "KT. GIÁM ĐỐC PHÓ GIÁM ĐỐC");
        let title = hit.title_bbox;
        let name = hit.name_bbox.unwrap();
        let r = hit.region;
        assert!(
            (r[3] - title[1]).abs() < 1e-9,
            "region starts under the title"
        );
        assert!((r[1] - name[3]).abs() < 1e-9, "region ends above the name");
        let centre = (title[0] + title[2]) / 2.0;
        assert!(((r[0] + r[2]) / 2.0 - centre).abs() < 1e-9);
        assert!(r[2] - r[0] >= MIN_REGION_WIDTH);
        assert!(locate_in_lines(&lines, &normalize("CHỦ TỊCH")).is_none());
    }

    #[test]
    fn an_anchor_may_span_the_lines_of_a_title_block() {
        let mut g = Vec::new();
        g.extend(run("TM. ỦY BAN NHÂN DÂN", 380.0, 300.0, 13.0));
        g.extend(run("KT. CHỦ TỊCH", 400.0, 285.0, 13.0));
        g.extend(run("PHÓ CHỦ TỊCH", 400.0, 270.0, 13.0));
        g.extend(run("Lê Văn Cường", 400.0, 180.0, 13.0));
        let lines = lines(&g);
        let hit = locate_in_lines(&lines, &normalize("kt. chủ tịch phó chủ tịch")).unwrap();
        assert_eq!(hit.title, "KT. CHỦ TỊCH PHÓ CHỦ TỊCH");
        assert_eq!(hit.name.as_deref(), Some("Lê Văn Cường"));
        let hit = locate_in_lines(&lines, &normalize("TM. ỦY BAN NHÂN DÂN")).unwrap();
        assert_eq!(hit.title, "TM. ỦY BAN NHÂN DÂN KT. CHỦ TỊCH PHÓ CHỦ TỊCH");
        // "CHỦ TỊCH" alone: the lowest line that contains it.
        let hit = locate_in_lines(&lines, &normalize("CHỦ TỊCH")).unwrap();
        assert_eq!(hit.title, "PHÓ CHỦ TỊCH");
        assert!(locate_in_lines(&lines, &normalize("CHỦ TỊCH Lê Văn")).is_none());
    }

    #[test]
    fn double_spaced_titles_stay_one_block() {
        // Baselines 28 pt apart at 14 pt: a 13 pt gap between the lines, far less than the
        // blank space before the name.
        let mut g = Vec::new();
        g.extend(run("KT. GIÁM ĐỐC", 400.0, 300.0, 14.0));
        g.extend(run("PHÓ GIÁM ĐỐC", 400.0, 272.0, 14.0));
        g.extend(run("Trần Thị Bình", 400.0, 180.0, 14.0));
        let hit = locate_in_lines(&lines(&g), "kt. giám đốc").unwrap();
        assert_eq!(hit.title, "KT. GIÁM ĐỐC PHÓ GIÁM ĐỐC");
        assert_eq!(hit.name.as_deref(), Some("Trần Thị Bình"));
    }

    #[test]
    fn the_signers_title_beats_a_lower_mention_in_the_recipient_list() {
        let mut g = Vec::new();
        g.extend(run("Nơi nhận:", 60.0, 300.0, 12.0));
        g.extend(run("- Như trên;", 60.0, 286.0, 11.0));
        g.extend(run("- Giám đốc Sở (để b/c);", 60.0, 273.0, 11.0));
        g.extend(run("- Lưu: VT.", 60.0, 260.0, 11.0));
        g.extend(run("GIÁM ĐỐC", 400.0, 300.0, 13.0));
        g.extend(run("Trần Thị Bình", 390.0, 200.0, 13.0));
        let hit = locate_in_lines(&lines(&g), &normalize("giám đốc")).unwrap();
        assert_eq!(hit.title, "GIÁM ĐỐC");
        assert_eq!(hit.name.as_deref(), Some("Trần Thị Bình"));
        // Without a name below the title, capitals still decide.
        g.truncate(g.len() - "Trần Thị Bình".chars().count());
        let hit = locate_in_lines(&lines(&g), &normalize("giám đốc")).unwrap();
        assert_eq!(hit.title, "GIÁM ĐỐC");
    }

    #[test]
    fn without_a_name_the_region_is_2_5_cm() {
        let lines = lines(&run("GIÁM ĐỐC", 400.0, 100.0, 12.0));
        let hit = locate_in_lines(&lines, "giám đốc").unwrap();
        assert_eq!(hit.name, None);
        assert!((hit.region[3] - hit.region[1] - DEFAULT_REGION_HEIGHT).abs() < 1e-6);
        // A line 12 cm lower (a footer) is not the signer's name.
        let mut g = run("GIÁM ĐỐC", 400.0, 500.0, 12.0);
        g.extend(run("Trang 1/1", 400.0, 500.0 - 12.0 / 2.54 * 72.0, 12.0));
        let hit = locate_in_lines(&self::lines(&g), "giám đốc").unwrap();
        assert_eq!(hit.name, None);
    }
}
