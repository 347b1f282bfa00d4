//! How long python.org supports each Python version: the one table of release and end-of-life
//! dates, read by the build (a warning for an interpreter past or near its end of life), by the
//! Python version check (why no image has a version) and by `usage`.
//!
//! The dates are python.org's, from each version's release schedule PEP (and the devguide's
//! release-cycle table). An end of life still ahead is known only to the month (`2027-10`);
//! once it has passed, [`Support::Ended`] records it, with the day when python.org gave one.
//! The unit test `every_passed_end_of_life_is_recorded` fails on the first day after an
//! end of life that the table still lists as scheduled, so the table is kept true.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use s2i_sbom::civil_from_days;

/// A calendar day (or a month, when `day` is `None`: an end of life announced to the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: Option<u32>,
}

impl Date {
    #[must_use]
    pub const fn day(year: u32, month: u32, day: u32) -> Self {
        Self {
            year,
            month,
            day: Some(day),
        }
    }

    #[must_use]
    pub const fn month(year: u32, month: u32) -> Self {
        Self {
            year,
            month,
            day: None,
        }
    }

    /// The last day this date covers (the month's last day for a month).
    #[must_use]
    pub fn last_day(self) -> (u32, u32, u32) {
        let last = match self.month {
            2 if self.year.is_multiple_of(4)
                && (!self.year.is_multiple_of(100) || self.year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (self.year, self.month, self.day.unwrap_or(last))
    }

    /// Whether `today` is after this date (after its whole month, for a month).
    #[must_use]
    pub fn passed(self, today: Date) -> bool {
        today.last_day() > self.last_day()
    }

    /// Whether this date comes within 365 days of `today` (and has not passed).
    #[must_use]
    pub fn within_a_year(self, today: Date) -> bool {
        let (y, m, d) = today.last_day();
        let end = self
            .day
            .map_or(Date::day(self.year, self.month, 1), |_| self);
        let (ey, em, ed) = end.last_day();
        !self.passed(today) && days_from_civil(ey, em, ed) - days_from_civil(y, m, d) <= 365
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.day {
            Some(d) => write!(f, "{:04}-{:02}-{d:02}", self.year, self.month),
            None => write!(f, "{:04}-{:02}", self.year, self.month),
        }
    }
}

/// Where a version stands in python.org's support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Supported until the date (the schedule's end of life, to the month).
    Until(Date),
    /// Past its end of life: no more releases from python.org, security fixes included.
    Ended(Date),
}

/// One line of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub major: u64,
    pub minor: u64,
    /// The release schedule (`PEP 596`).
    pub pep: u32,
    /// The first `X.Y.0` release.
    pub released: Date,
    pub support: Support,
}

/// python.org's releases, oldest first (`PEP 373` and each version's release schedule PEP;
/// https://devguide.python.org/versions/).
#[rustfmt::skip]
pub const RELEASES: &[Release] = &[
    //     version  PEP  first release           end of life
    release(2, 7,  373, Date::day(2010, 7, 3),   Support::Ended(Date::day(2020, 1, 1))),
    release(3, 6,  494, Date::day(2016, 12, 23), Support::Ended(Date::day(2021, 12, 23))),
    release(3, 7,  537, Date::day(2018, 6, 27),  Support::Ended(Date::day(2023, 6, 27))),
    release(3, 8,  569, Date::day(2019, 10, 14), Support::Ended(Date::day(2024, 10, 7))),
    release(3, 9,  596, Date::day(2020, 10, 5),  Support::Ended(Date::day(2025, 10, 31))),
    release(3, 10, 619, Date::day(2021, 10, 4),  Support::Ended(Date::month(2026, 10))),
    release(3, 11, 664, Date::day(2022, 10, 24), Support::Until(Date::month(2027, 10))),
    release(3, 12, 693, Date::day(2023, 10, 2),  Support::Until(Date::month(2028, 10))),
    release(3, 13, 719, Date::day(2024, 10, 7),  Support::Until(Date::month(2029, 10))),
    release(3, 14, 745, Date::day(2025, 10, 7),  Support::Until(Date::month(2030, 10))),
    release(3, 15, 790, Date::day(2026, 10, 1),  Support::Until(Date::month(2031, 10))),
];

const fn release(major: u64, minor: u64, pep: u32, released: Date, support: Support) -> Release {
    Release {
        major,
        minor,
        pep,
        released,
        support,
    }
}

/// The table's line for `major.minor`.
#[must_use]
pub fn find(major: u64, minor: u64) -> Option<&'static Release> {
    RELEASES
        .iter()
        .find(|r| (r.major, r.minor) == (major, minor))
}

/// What the build and `usage` say about an interpreter's support on `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Supported for more than a year.
    Supported { until: Date },
    /// End of life within a year.
    EndingSoon { until: Date },
    /// Past its end of life.
    Ended { since: Date },
    /// Not in the table (newer than it, or not a CPython version it knows).
    Unknown,
}

/// Where `major.minor` stands on `today`: the table's status, or the date when the table has
/// not caught up with it yet.
#[must_use]
pub fn standing(major: u64, minor: u64, today: Date) -> Standing {
    match find(major, minor).map(|r| r.support) {
        Some(Support::Ended(since)) => Standing::Ended { since },
        Some(Support::Until(until)) if until.passed(today) => Standing::Ended { since: until },
        Some(Support::Until(until)) if until.within_a_year(today) => Standing::EndingSoon { until },
        Some(Support::Until(until)) => Standing::Supported { until },
        None => Standing::Unknown,
    }
}

/// The newer image versions (`images/versions`) python.org still supports on `today`, to move
/// to: `python-s2i:3.13, 3.14 or 3.15`.
fn newer_supported_images(major: u64, minor: u64, today: Date) -> String {
    let newer: Vec<String> = crate::python_version::image_versions()
        .into_iter()
        .filter(|v| {
            v.split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .is_some_and(|(ma, mi)| {
                    (ma, mi) > (major, minor)
                        && matches!(standing(ma, mi, today), Standing::Supported { .. })
                })
        })
        .collect();
    match newer.split_last() {
        None => "a newer Python".to_owned(),
        Some((last, [])) => format!("python-s2i:{last}"),
        Some((last, rest)) => format!("python-s2i:{} or {last}", rest.join(", ")),
    }
}

/// The warning for an interpreter past or near its end of life (`None` while it is supported
/// for more than a year), naming the newer images to move to.
#[must_use]
pub fn warning(major: u64, minor: u64, today: Date) -> Option<String> {
    let pep = find(major, minor).map_or(0, |r| r.pep);
    let newer = newer_supported_images(major, minor, today);
    match standing(major, minor, today) {
        Standing::Ended { since } => Some(format!(
            "Python {major}.{minor} reached its end of life on {since} (PEP {pep}): python.org \
             publishes no more releases of it, security fixes included.\n\
             Move the app to a supported Python ({newer}); Debian's own fixes for its \
             package are all this image gets."
        )),
        Standing::EndingSoon { until } => Some(format!(
            "Python {major}.{minor} reaches its end of life in {until} (PEP {pep}), within a year: \
             python.org's security fixes stop then.\n\
             Plan the move to a newer Python ({newer})."
        )),
        Standing::Supported { .. } | Standing::Unknown => None,
    }
}

/// Today's date in UTC, from the system clock.
#[must_use]
pub fn today() -> Date {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    Date::day(year, month, day)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Howard Hinnant's algorithm, the
/// inverse of [`civil_from_days`]).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_passed_end_of_life_is_recorded() {
        // Fails on the first day after a scheduled end of life the table still calls
        // supported: mark it `Support::Ended` (with the day of python.org's announcement, its
        // last release, when there is one) and check the images' docs (docs/images.md).
        let today = today();
        for r in RELEASES {
            if let Support::Until(until) = r.support {
                assert!(
                    !until.passed(today),
                    "Python {}.{}: its end of life ({until}, PEP {}) has passed (today is {today}); \
                     the table in crates/assemble/src/python_support.rs still says it is supported",
                    r.major,
                    r.minor,
                    r.pep
                );
            }
        }
    }

    #[test]
    fn the_table_is_in_order_and_covers_every_image() {
        for pair in RELEASES.windows(2) {
            assert!(
                (pair[0].major, pair[0].minor) < (pair[1].major, pair[1].minor),
                "{pair:?}"
            );
            assert!(pair[0].released < pair[1].released, "{pair:?}");
        }
        for v in crate::python_version::image_versions() {
            let (major, minor) = v.split_once('.').expect("major.minor");
            assert!(
                find(major.parse().expect("major"), minor.parse().expect("minor")).is_some(),
                "images/versions has {v}, the table has no line for it"
            );
        }
    }

    #[test]
    fn the_calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 12, 7), 20_794);
        for days in [0, 59, 60, 365, 10_957, 20_794, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Date::month(2028, 2).last_day(), (2028, 2, 29));
    }

    #[test]
    fn standing_on_a_given_day() {
        let day = Date::day(2026, 12, 7);
        let since = Date::day(2020, 1, 1);
        assert_eq!(standing(2, 7, day), Standing::Ended { since });
        let until = Date::month(2027, 10);
        assert_eq!(standing(3, 11, day), Standing::EndingSoon { until });
        assert_eq!(standing(3, 16, day), Standing::Unknown);
        // A scheduled end of life counts from the day after its month.
        for (minor, on, want) in [
            (9, day, "Ended"),
            (10, day, "Ended"),
            (13, day, "Supported"),
            (11, Date::day(2027, 10, 31), "EndingSoon"),
            (11, Date::day(2027, 11, 1), "Ended"),
            (12, Date::day(2027, 10, 1), "Supported"),
            (12, Date::day(2027, 10, 2), "EndingSoon"),
        ] {
            let got = format!("{:?}", standing(3, minor, on));
            assert!(
                got.starts_with(&format!("{want} ")),
                "3.{minor} on {on}: {got}"
            );
        }
    }

    #[test]
    fn warnings_name_the_date_and_the_pep() {
        let day = Date::day(2026, 12, 7);
        let w = warning(2, 7, day).expect("2.7 warns");
        assert!(w.contains("end of life on 2020-01-01 (PEP 373)"), "{w}");
        assert!(w.contains("(python-s2i:3.13, 3.14 or 3.15)"), "{w}");
        let w = warning(3, 9, day).expect("3.9 warns");
        assert!(w.contains("2025-10-31 (PEP 596)"), "{w}");
        let w = warning(3, 11, day).expect("3.11 warns");
        assert!(w.contains("in 2027-10 (PEP 664), within a year"), "{w}");
        assert!(w.contains("(python-s2i:3.13, 3.14 or 3.15)"), "{w}");
        assert_eq!(warning(3, 14, day), None);
        assert_eq!(warning(3, 15, day), None);
    }
}
