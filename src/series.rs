//! Long metric histories: the bound on what a run file keeps of a curve, the
//! downsampling that keeps its shape, and the full series as a gzip CSV file
//! for the artifact store.
//!
//! A run file is a summary read by people, by `git diff` and by every
//! `run list`; a metric logged at every one of 1,000,000 steps does not
//! belong in it. A run file keeps at most [`MAX_POINTS`] points per metric:
//! the first, the last, and over equal buckets of the points between, each
//! bucket's lowest and highest (so the curve's minimum and maximum are always
//! there). The full series is written as `step,value,timestamp` lines,
//! gzip-compressed, and stored by content like any artifact.
//!
//! Everything here works point by point ([`Downsampler`], [`SeriesWriter`],
//! [`read_series`]) so that a series never has to be in memory whole.

use crate::registry::MetricPoint;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The most points a run file keeps for one metric.
pub const MAX_POINTS: usize = 1000;

/// The first line of a series file.
pub const CSV_HEADER: &str = "step,value,timestamp";

/// Buckets between the first and the last point: two points (a minimum and
/// a maximum) each.
const BUCKETS: u64 = ((MAX_POINTS - 2) / 2) as u64;

/// Downsamples a series of known length one point at a time, so the series
/// itself is never held: at most one bucket's minimum and maximum, plus what
/// is kept, are in memory.
pub struct Downsampler {
    total: u64,
    seen: u64,
    kept: Vec<MetricPoint>,
    /// The current bucket's lowest and highest points, by their index.
    low: Option<(u64, MetricPoint)>,
    high: Option<(u64, MetricPoint)>,
    bucket: u64,
}

impl Downsampler {
    /// For a series of `total` points.
    pub fn new(total: u64) -> Downsampler {
        Downsampler {
            total,
            seen: 0,
            kept: Vec::with_capacity(MAX_POINTS.min(total as usize)),
            low: None,
            high: None,
            bucket: 0,
        }
    }

    /// Takes the next point (points past `total` are ignored).
    pub fn push(&mut self, point: MetricPoint) {
        let index = self.seen;
        self.seen += 1;
        if index >= self.total {
            return;
        }
        // Short enough to keep whole, or the first or the last point.
        if self.total <= MAX_POINTS as u64 || index == 0 || index + 1 == self.total {
            if index + 1 == self.total {
                self.flush();
            }
            self.kept.push(point);
            return;
        }
        let bucket = self.bucket_of(index);
        if bucket != self.bucket {
            self.flush();
            self.bucket = bucket;
        }
        // Ties keep the earlier point: the first time the curve got there.
        if self.low.as_ref().is_none_or(|(_, p)| point.value < p.value) {
            self.low = Some((index, point.clone()));
        }
        if self
            .high
            .as_ref()
            .is_none_or(|(_, p)| point.value > p.value)
        {
            self.high = Some((index, point));
        }
    }

    /// The bucket of a point between the first and the last: the `total - 2`
    /// points between are split into [`BUCKETS`] runs of equal length (±1).
    fn bucket_of(&self, index: u64) -> u64 {
        let between = u128::from(self.total - 2);
        ((u128::from(index - 1) * u128::from(BUCKETS)) / between) as u64
    }

    /// Keeps the current bucket's minimum and maximum, in series order.
    fn flush(&mut self) {
        match (self.low.take(), self.high.take()) {
            (Some((i, low)), Some((j, high))) => {
                if i == j {
                    self.kept.push(low);
                } else if i < j {
                    self.kept.extend([low, high]);
                } else {
                    self.kept.extend([high, low]);
                }
            }
            (Some((_, p)), None) | (None, Some((_, p))) => self.kept.push(p),
            (None, None) => {}
        }
    }

    /// The kept points, in series order; at most [`MAX_POINTS`].
    pub fn finish(mut self) -> Vec<MetricPoint> {
        self.flush();
        self.kept
    }
}

/// `points` with at most [`MAX_POINTS`] kept: the first, the last, and each
/// bucket's minimum and maximum between them, in order. A series that short
/// already is returned as it is.
pub fn downsample(points: &[MetricPoint]) -> Vec<MetricPoint> {
    let mut sampler = Downsampler::new(points.len() as u64);
    for point in points {
        sampler.push(point.clone());
    }
    sampler.finish()
}

/// Writes a series as gzip CSV into a temporary file, point by point.
pub struct SeriesWriter {
    out: GzEncoder<BufWriter<tempfile::NamedTempFile>>,
    points: u64,
}

/// A series written to a temporary file (removed when dropped).
#[derive(Debug)]
pub struct SeriesFile {
    pub file: tempfile::NamedTempFile,
    pub points: u64,
}

impl SeriesWriter {
    pub fn new() -> std::io::Result<SeriesWriter> {
        let file = tempfile::NamedTempFile::new()?;
        let mut out = GzEncoder::new(BufWriter::new(file), Compression::default());
        writeln!(out, "{CSV_HEADER}")?;
        Ok(SeriesWriter { out, points: 0 })
    }

    /// One `step,value,timestamp` line; `{}` prints an f64 as the shortest
    /// text that reads back as the same number.
    pub fn push(&mut self, point: &MetricPoint) -> std::io::Result<()> {
        write!(self.out, "{},{}", point.step, point.value)?;
        match &point.timestamp {
            Some(t) => writeln!(self.out, ",{}", csv_field(t))?,
            None => writeln!(self.out, ",")?,
        }
        self.points += 1;
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<SeriesFile> {
        let file = self
            .out
            .finish()?
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.as_file().sync_all()?;
        Ok(SeriesFile {
            file,
            points: self.points,
        })
    }
}

/// A CSV field: quoted (RFC 4180) when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Reads a series file back, calling `each` for every point in order.
pub fn read_series(
    path: &Path,
    each: &mut dyn FnMut(MetricPoint) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let bad = |line: u64, what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: line {line}: {what}", path.display()),
        )
    };
    let reader = BufReader::new(GzDecoder::new(fs_err::File::open(path)?));
    let mut count = 0;
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        let number = index as u64 + 1;
        if index == 0 {
            if line != CSV_HEADER {
                return Err(bad(
                    number,
                    "not a series file (no step,value,timestamp header)",
                ));
            }
            continue;
        }
        let mut fields = line.splitn(3, ',');
        let step = fields.next().and_then(|s| s.parse::<u64>().ok());
        let value = fields.next().and_then(|s| s.parse::<f64>().ok());
        let (Some(step), Some(value), Some(timestamp)) = (step, value, fields.next()) else {
            return Err(bad(number, "expected step,value,timestamp"));
        };
        let timestamp = match timestamp {
            "" => None,
            t => Some(
                match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(quoted) => quoted.replace("\"\"", "\""),
                    None => t.to_owned(),
                },
            ),
        };
        each(MetricPoint {
            step,
            value,
            timestamp,
        })?;
        count += 1;
    }
    Ok(count)
}

/// The second pass over a spilled series: its downsampled points.
pub fn downsample_file(series: &SeriesFile) -> std::io::Result<Vec<MetricPoint>> {
    let mut sampler = Downsampler::new(series.points);
    read_series(series.file.path(), &mut |p| {
        sampler.push(p);
        Ok(())
    })?;
    Ok(sampler.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn points(values: &[f64]) -> Vec<MetricPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| MetricPoint {
                step: i as u64,
                value: *v,
                timestamp: None,
            })
            .collect()
    }

    /// At most MAX_POINTS, in order, a subset, with first, last, min and max.
    fn check(all: &[MetricPoint]) {
        let kept = downsample(all);
        assert!(kept.len() <= MAX_POINTS);
        assert!(kept.windows(2).all(|w| w[0].step < w[1].step));
        assert!(kept.iter().all(|p| all.contains(p)));
        if all.len() <= MAX_POINTS {
            assert_eq!(kept, all);
            return;
        }
        let min = all.iter().min_by(|a, b| a.value.total_cmp(&b.value));
        let max = all.iter().max_by(|a, b| a.value.total_cmp(&b.value));
        for wanted in [all.first(), all.last(), min, max].into_iter().flatten() {
            assert!(
                kept.iter().any(|p| p.value == wanted.value),
                "{wanted:?} lost"
            );
        }
        assert_eq!(kept.first(), all.first());
        assert_eq!(kept.last(), all.last());
    }

    #[test]
    fn keeps_first_last_min_and_max_within_the_bound() {
        let mut values: Vec<f64> = (0..100_000).map(|i| (i as f64 / 50.0).sin()).collect();
        values[777] = -5.0;
        values[98_765] = 7.0;
        let all = points(&values);
        check(&all);
        let kept = downsample(&all);
        assert_eq!(kept.len(), MAX_POINTS);
        assert!(kept.iter().any(|p| p.step == 777 && p.value == -5.0));
        assert!(kept.iter().any(|p| p.step == 98_765 && p.value == 7.0));
    }

    #[test]
    fn a_short_series_is_kept_whole() {
        let all = points(&[3.0; MAX_POINTS]);
        assert_eq!(downsample(&all), all);
        check(&points(&[1.0; MAX_POINTS + 1]));
    }

    #[test]
    fn a_series_file_reads_back_exactly() {
        let mut writer = SeriesWriter::new().unwrap();
        let all = vec![
            MetricPoint {
                step: 0,
                value: 0.1 + 0.2,
                timestamp: Some("2026-01-01T00:00:00Z".into()),
            },
            MetricPoint {
                step: 7,
                value: -1e-300,
                timestamp: Some("odd, \"quoted\"".into()),
            },
            MetricPoint {
                step: u64::MAX,
                value: f64::MAX,
                timestamp: None,
            },
        ];
        for p in &all {
            writer.push(p).unwrap();
        }
        let file = writer.finish().unwrap();
        let mut read = Vec::new();
        read_series(file.file.path(), &mut |p| {
            read.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(read, all);
        assert_eq!(downsample_file(&file).unwrap(), all);
    }

    proptest! {
        #[test]
        fn downsampling_keeps_the_shape(
            values in proptest::collection::vec(-1e6f64..1e6, 0..5000)
        ) {
            check(&points(&values));
        }
    }
}
