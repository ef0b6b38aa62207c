//! The results: a table on stdout, CSV files and an SVG chart under
//! `target/bench/`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use plotters::prelude::*;

/// Which way a figure is better, and the target for lanchat.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// No target; shown for context.
    None,
    AtLeast(f64),
    AtMost(f64),
}

/// One row of the results table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub unit: &'static str,
    pub lanchat: Option<f64>,
    pub peer: Option<f64>,
    /// The fan-out bench's second peer, the stock warp design.
    pub warp: Option<f64>,
    pub goal: Goal,
    /// Replaces the lanchat value when shown, e.g. "≥ 19900 (fd limit)".
    pub lanchat_text: Option<String>,
    pub peer_text: Option<String>,
    pub warp_text: Option<String>,
}

impl Figure {
    pub fn new(name: impl Into<String>, unit: &'static str, goal: Goal) -> Figure {
        Figure {
            name: name.into(),
            unit,
            lanchat: None,
            peer: None,
            warp: None,
            goal,
            lanchat_text: None,
            peer_text: None,
            warp_text: None,
        }
    }

    fn ratio(&self) -> Option<f64> {
        ratio(self.lanchat, self.peer)
    }

    fn target(&self) -> String {
        match self.goal {
            Goal::None => String::new(),
            Goal::AtLeast(v) => format!("≥ {}", number(v)),
            Goal::AtMost(v) => format!("≤ {}", number(v)),
        }
    }

    fn met(&self) -> &'static str {
        match (self.goal, self.lanchat) {
            (Goal::None, _) => "",
            (_, None) => "?",
            (Goal::AtLeast(t), Some(v)) if v >= t => "yes",
            (Goal::AtMost(t), Some(v)) if v <= t => "yes",
            _ => "no",
        }
    }

    /// The row's cells, with the warp design's columns if `warp`.
    fn cells(&self, warp: bool) -> Vec<String> {
        let show = |value: Option<f64>, text: &Option<String>| match (text, value) {
            (Some(text), _) => text.clone(),
            (None, Some(v)) => number(v),
            (None, None) => "–".to_owned(),
        };
        let times = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{r:.2}×"));
        let mut cells = vec![
            format!("{} ({})", self.name, self.unit),
            show(self.lanchat, &self.lanchat_text),
        ];
        if warp {
            cells.push(show(self.warp, &self.warp_text));
        }
        cells.push(show(self.peer, &self.peer_text));
        if warp {
            cells.push(times(ratio(self.lanchat, self.warp)));
        }
        cells.extend([times(self.ratio()), self.target(), self.met().to_owned()]);
        cells
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// A number with as many digits as it deserves.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        let whole = v.round() as i64;
        let digits = whole.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if whole < 0 { format!("-{out}") } else { out }
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The table as Markdown, so it reads on a terminal and pastes into the
/// README. The warp design's columns are there when it was measured.
pub fn table(figures: &[Figure]) -> String {
    let warp = figures.iter().any(|f| f.warp.is_some());
    let header: Vec<&str> = if warp {
        vec![
            "figure",
            "lanchat",
            "warp design",
            "ws peer",
            "lanchat/warp",
            "lanchat/ws",
            "target",
            "met",
        ]
    } else {
        vec![
            "figure",
            "lanchat",
            "ws peer",
            "lanchat/peer",
            "target",
            "met",
        ]
    };
    let rows: Vec<Vec<String>> = figures.iter().map(|f| f.cells(warp)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::from("|");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {}{cell} |", " ".repeat(pad));
            }
        }
        out.push('\n');
        out
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = line(&header);
    out.push('|');
    for (i, w) in widths.iter().enumerate() {
        let dashes = "-".repeat(*w);
        if i == 0 {
            let _ = write!(out, " {dashes} |");
        } else {
            let _ = write!(out, " {}: |", &dashes[1..]);
        }
    }
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

pub fn write_csv(path: &Path, figures: &[Figure]) -> anyhow::Result<()> {
    let mut out = String::from("figure,unit,lanchat,peer,ratio,target,met,warp,lanchat/warp\n");
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for f in figures {
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},{},\"{}\",{},{},{}",
            f.name,
            f.unit,
            cell(f.lanchat),
            cell(f.peer),
            cell(f.ratio()),
            f.target(),
            f.met(),
            cell(f.warp),
            cell(ratio(f.lanchat, f.warp)),
        );
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// One ramp step of one server.
#[derive(Debug, Clone)]
pub struct Step {
    pub server: &'static str,
    pub clients: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub delivered: f64,
    pub connect_s: f64,
    pub rss_mib: Option<f64>,
    pub cpu_s: Option<f64>,
}

pub fn write_steps(path: &Path, steps: &[Step]) -> anyhow::Result<()> {
    let mut out = String::from(
        "server,clients,p50_ms,p95_ms,p99_ms,max_ms,delivered,connect_s,server_rss_mib,server_cpu_s\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.2}"));
    for s in steps {
        let _ = writeln!(
            out,
            "{},{},{:.3},{:.3},{:.3},{:.3},{:.6},{:.3},{},{}",
            s.server,
            s.clients,
            s.p50_ms,
            s.p95_ms,
            s.p99_ms,
            s.max_ms,
            s.delivered,
            s.connect_s,
            opt(s.rss_mib),
            opt(s.cpu_s)
        );
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads steps written by [`write_steps`].
pub fn read_steps(path: &Path) -> anyhow::Result<Vec<Step>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut steps = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        let server = match f.first() {
            Some(&"lanchat") => "lanchat",
            Some(&"ws peer") => "ws peer",
            Some(&"warp design") => "warp design",
            _ => continue,
        };
        steps.push(Step {
            server,
            clients: num(1).unwrap_or(0.0) as usize,
            p50_ms: num(2).unwrap_or(0.0),
            p95_ms: num(3).unwrap_or(0.0),
            p99_ms: num(4).unwrap_or(0.0),
            max_ms: num(5).unwrap_or(0.0),
            delivered: num(6).unwrap_or(0.0),
            connect_s: num(7).unwrap_or(0.0),
            rss_mib: num(8),
            cpu_s: num(9),
        });
    }
    Ok(steps)
}

/// p50 and p99 against clients, every server, log latency axis.
pub fn chart(path: &Path, steps: &[Step], title: &str) -> anyhow::Result<()> {
    let max_clients = steps.iter().map(|s| s.clients).max().unwrap_or(1000) as f64;
    let floor = 1.0_f64;
    let top = steps
        .iter()
        .map(|s| s.p99_ms)
        .fold(10.0_f64, f64::max)
        .max(1000.0)
        * 1.5;
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..max_clients * 1.02, (floor..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("connected clients")
        .y_desc("recipient latency (ms, log scale)")
        .light_line_style(BLACK.mix(0.04))
        .x_label_formatter(&|x| format!("{:.0}", x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    let lines = [
        ("lanchat", "p50", BLUE, false),
        ("lanchat", "p99", BLUE, true),
        ("ws peer", "p50", RED, false),
        ("ws peer", "p99", RED, true),
        ("warp design", "p50", GREEN, false),
        ("warp design", "p99", GREEN, true),
    ];
    for (server, which, color, dashed) in lines {
        let points: Vec<(f64, f64)> = steps
            .iter()
            .filter(|s| s.server == server)
            .map(|s| {
                let y = if which == "p50" { s.p50_ms } else { s.p99_ms };
                (s.clients as f64, y.max(floor))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let style = color.stroke_width(if dashed { 1 } else { 3 });
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(format!("{server} {which}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
