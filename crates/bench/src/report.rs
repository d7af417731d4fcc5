//! The results: medians, targets met or missed, a table for people and JSON for tools.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a metric must reach. Missing one is reported, never an error: machines are noisy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The proxy's median at least this fraction of the direct median.
    MinRatio(f64),
    /// The proxy's median at most this multiple of the direct median.
    MaxRatio(f64),
    /// The proxy's median at most this multiple of nginx as a reverse proxy's.
    MaxVsNginxProxy(f64),
    /// The proxy's median at most this.
    Max(f64),
}

impl Target {
    fn met(self, proxy: f64, ratio: Option<f64>, vs_nginx_proxy: Option<f64>) -> bool {
        match self {
            Target::MinRatio(min) => ratio.is_some_and(|r| r >= min),
            Target::MaxRatio(max) => ratio.is_some_and(|r| r <= max),
            Target::MaxVsNginxProxy(max) => vs_nginx_proxy.is_some_and(|r| r <= max),
            Target::Max(max) => proxy <= max,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::MinRatio(min) => format!("≥ {min:.2}× direct"),
            Target::MaxRatio(max) => format!("≤ {max:.2}× direct"),
            Target::MaxVsNginxProxy(max) => format!("≤ {max:.2}× nginx proxy"),
            Target::Max(max) => format!("≤ {}", number(max)),
        }
    }

    fn json(self) -> String {
        let (kind, value) = match self {
            Target::MinRatio(v) => ("min_ratio", v),
            Target::MaxRatio(v) => ("max_ratio", v),
            Target::MaxVsNginxProxy(v) => ("max_vs_nginx_proxy", v),
            Target::Max(v) => ("max", v),
        };
        format!(
            "{{\"kind\": \"{kind}\", \"value\": {}}}",
            json_number(value)
        )
    }
}

/// Where a figure was measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Column {
    /// The backend itself.
    Direct,
    /// nginx as a reverse proxy to the backend.
    NginxProxy,
    /// s3proxy.
    Proxy,
}

/// One measured quantity: each run's value, directly against the backend (when that
/// means something), through nginx as a plain reverse proxy (what a mature proxy does on
/// this machine) and through s3proxy.
#[derive(Clone, Debug)]
pub struct Metric {
    /// The measurement it belongs to, e.g. `1 GiB, 1 stream`.
    pub measurement: String,
    /// Stable name for tools, e.g. `single_stream.throughput`.
    pub id: &'static str,
    /// e.g. `MB/s`, `proxy CPU s/GiB`.
    pub name: &'static str,
    pub direct: Vec<f64>,
    /// nginx as a reverse proxy to the same backend (no auth, no signing).
    pub nginx_proxy: Vec<f64>,
    pub proxy: Vec<f64>,
    pub targets: Vec<Target>,
    /// The Python service's figure, for comparison.
    pub python: &'static str,
    /// Whether `direct` is the same quantity for the backend (so a ratio means something).
    pub comparable: bool,
}

impl Metric {
    pub fn new(measurement: &str, id: &'static str, name: &'static str) -> Metric {
        Metric {
            measurement: measurement.to_owned(),
            id,
            name,
            direct: Vec::new(),
            nginx_proxy: Vec::new(),
            proxy: Vec::new(),
            targets: Vec::new(),
            python: "",
            comparable: true,
        }
    }

    pub fn target(mut self, target: Target) -> Metric {
        self.targets.push(target);
        self
    }

    pub fn python(mut self, figure: &'static str) -> Metric {
        self.python = figure;
        self
    }

    /// `direct` holds something else than the proxy's quantity (e.g. nginx's own CPU).
    pub fn not_comparable(mut self) -> Metric {
        self.comparable = false;
        self
    }

    pub fn push(&mut self, column: Column, value: f64) {
        match column {
            Column::Direct => self.direct.push(value),
            Column::NginxProxy => self.nginx_proxy.push(value),
            Column::Proxy => self.proxy.push(value),
        }
    }

    pub fn direct_median(&self) -> Option<f64> {
        median(&self.direct)
    }

    pub fn proxy_median(&self) -> Option<f64> {
        median(&self.proxy)
    }

    pub fn nginx_proxy_median(&self) -> Option<f64> {
        median(&self.nginx_proxy)
    }

    /// s3proxy's median over the nginx reverse proxy's: always the same quantity (for CPU
    /// rows, both proxies' own CPU time).
    pub fn vs_nginx_proxy(&self) -> Option<f64> {
        match (self.nginx_proxy_median(), self.proxy_median()) {
            (Some(n), Some(p)) if n > 0.0 => Some(p / n),
            _ => None,
        }
    }

    pub fn ratio(&self) -> Option<f64> {
        if !self.comparable {
            return None;
        }
        match (self.direct_median(), self.proxy_median()) {
            (Some(d), Some(p)) if d > 0.0 => Some(p / d),
            _ => None,
        }
    }

    /// `None` without targets; else whether all are met.
    pub fn met(&self) -> Option<bool> {
        if self.targets.is_empty() {
            return None;
        }
        let proxy = self.proxy_median()?;
        Some(
            self.targets
                .iter()
                .all(|t| t.met(proxy, self.ratio(), self.vs_nginx_proxy())),
        )
    }
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// The results as a Markdown table (readable as plain text too).
pub fn table(metrics: &[Metric]) -> String {
    let header = [
        "measurement",
        "metric",
        "direct",
        "nginx proxy",
        "s3proxy",
        "ratio",
        "÷ nginx proxy",
        "target",
        "result",
        "Python",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut last = "";
    for m in metrics {
        let measurement = if m.measurement == last {
            String::new()
        } else {
            m.measurement.clone()
        };
        last = &m.measurement;
        rows.push(vec![
            measurement,
            m.name.to_owned(),
            m.direct_median().map_or("—".into(), number),
            m.nginx_proxy_median().map_or("—".into(), number),
            m.proxy_median().map_or("—".into(), number),
            m.ratio().map_or("".into(), |r| format!("{r:.2}")),
            m.vs_nginx_proxy().map_or("".into(), |r| format!("{r:.2}")),
            m.targets
                .iter()
                .map(|t| t.describe())
                .collect::<Vec<_>>()
                .join(", "),
            match m.met() {
                Some(true) => "PASS".into(),
                Some(false) => "MISS".into(),
                None => "".into(),
            },
            m.python.to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let mut out = String::from("|");
        for (cell, width) in cells.iter().zip(&widths) {
            let pad = width - cell.chars().count();
            let _ = write!(out, " {cell}{} |", " ".repeat(pad));
        }
        out.push('\n');
        out
    };
    let mut out = line(header.iter().map(|s| s.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// A figure with as many digits as are worth reading.
fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 0.01 || magnitude == 0.0 {
        format!("{value:.2}")
    } else {
        // Near zero, but not zero (e.g. Redis commands per request with the cache on).
        format!("{value:.4}")
    }
}

/// Everything about a run, as JSON (written by hand: xtask has no serde).
pub struct Run<'a> {
    pub date: &'a str,
    pub quick: bool,
    pub repetitions: usize,
    pub rust_log: &'a str,
    pub backend: &'a str,
    pub notes: &'a [String],
    pub metrics: &'a [Metric],
}

impl Run<'_> {
    pub fn json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"date\": {},", json_string(self.date));
        let _ = writeln!(out, "  \"quick\": {},", self.quick);
        let _ = writeln!(out, "  \"repetitions\": {},", self.repetitions);
        let _ = writeln!(out, "  \"rust_log\": {},", json_string(self.rust_log));
        let _ = writeln!(out, "  \"backend\": {},", json_string(self.backend));
        let notes: Vec<String> = self.notes.iter().map(|n| json_string(n)).collect();
        let _ = writeln!(out, "  \"notes\": [{}],", notes.join(", "));
        out.push_str("  \"metrics\": [\n");
        for (i, m) in self.metrics.iter().enumerate() {
            let list = |values: &[f64]| {
                values
                    .iter()
                    .map(|v| json_number(*v))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let option = |value: Option<f64>| value.map_or("null".into(), json_number);
            let targets: Vec<String> = m.targets.iter().map(|t| t.json()).collect();
            let _ = write!(
                out,
                "    {{\"id\": {}, \"measurement\": {}, \"metric\": {}, \
                 \"direct\": [{}], \"nginx_proxy\": [{}], \"proxy\": [{}], \
                 \"direct_median\": {}, \"nginx_proxy_median\": {}, \"proxy_median\": {}, \
                 \"ratio\": {}, \"vs_nginx_proxy\": {}, \"targets\": [{}], \"met\": {}, \
                 \"python\": {}}}",
                json_string(m.id),
                json_string(&m.measurement),
                json_string(m.name),
                list(&m.direct),
                list(&m.nginx_proxy),
                list(&m.proxy),
                option(m.direct_median()),
                option(m.nginx_proxy_median()),
                option(m.proxy_median()),
                option(m.ratio()),
                option(m.vs_nginx_proxy()),
                targets.join(", "),
                m.met().map_or("null".into(), |met| met.to_string()),
                json_string(m.python),
            );
            out.push_str(if i + 1 < self.metrics.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("  ]\n}\n");
        out
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_number(value: f64) -> String {
    if value.is_finite() {
        // Enough digits for any of these quantities, without float noise.
        let text = format!("{value:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.to_owned()
    } else {
        "null".into()
    }
}

/// Now, in UTC: `2025-01-31T12:34:56Z`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_ratios_and_targets() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let mut m = Metric::new("1 KiB", "small.rps", "req/s")
            .target(Target::Max(20_000.0))
            .target(Target::MinRatio(0.2));
        m.direct = vec![50_000.0, 60_000.0, 55_000.0];
        m.proxy = vec![17_000.0, 18_000.0, 16_500.0];
        m.nginx_proxy = vec![34_000.0];
        assert!((m.ratio().unwrap() - 17_000.0 / 55_000.0).abs() < 1e-9);
        assert!((m.vs_nginx_proxy().unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(m.met(), Some(true));
        m.proxy = vec![10_000.0];
        assert_eq!(m.met(), Some(false));
        let table = table(&[m.clone()]);
        assert!(
            table.contains("MISS") && table.contains("≤ 20000"),
            "{table}"
        );
        let run = Run {
            date: "d",
            quick: true,
            repetitions: 1,
            rust_log: "warn",
            backend: "nginx",
            notes: &["a \"note\"".into()],
            metrics: &[m],
        };
        let json = run.json();
        assert!(json.contains("\"proxy\": [10000]"), "{json}");
        assert!(json.contains("\"nginx_proxy\": [34000]"), "{json}");
        assert!(json.contains("\"a \\\"note\\\"\""), "{json}");
        assert!(json.contains("\"met\": false"), "{json}");
    }

    #[test]
    fn targets_against_direct_and_nginx_proxy() {
        let mut p99 = Metric::new("1 KiB", "small.p99", "p99 ms").target(Target::MaxRatio(2.0));
        p99.direct = vec![4.0];
        p99.proxy = vec![7.9];
        assert_eq!(p99.met(), Some(true));
        p99.proxy = vec![8.1];
        assert_eq!(p99.met(), Some(false));
        let mut cpu = Metric::new("1 KiB", "small.cpu", "CPU µs/req")
            .target(Target::MaxVsNginxProxy(2.0))
            .not_comparable();
        cpu.direct = vec![9.0];
        cpu.nginx_proxy = vec![15.0];
        cpu.proxy = vec![29.0];
        assert_eq!(cpu.met(), Some(true));
        cpu.proxy = vec![31.0];
        assert_eq!(cpu.met(), Some(false));
        let table = table(&[p99, cpu]);
        assert!(table.contains("≤ 2.00× direct"), "{table}");
        assert!(table.contains("≤ 2.00× nginx proxy"), "{table}");
        assert_eq!(number(0.00012), "0.0001");
        assert_eq!(number(0.0), "0.00");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_735_689_599), "2024-12-31T23:59:59Z");
    }
}
