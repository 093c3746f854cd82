//! Post dates: front matter text (date or datetime, with or without an
//! offset) and the `YYYY-MM-DD-` prefix of a file name. A date without an
//! offset is read in the site's time zone.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// Reads a front matter date such as `2024-01-05`, `2024-01-05 10:00`,
/// `2025-01-29 18:15:32 +0530` or `2024-01-05T10:00:00Z`.
pub fn parse(text: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date);
    }
    if let Ok(date) = DateTime::parse_from_rfc2822(text) {
        return Some(date);
    }
    let normal = normalise(text);
    const WITH_OFFSET: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M%z",
    ];
    for format in WITH_OFFSET {
        if let Ok(date) = DateTime::parse_from_str(&normal, format) {
            return Some(date);
        }
    }
    // A day with an offset and no time (`2023-02-22 +0800`, thousands of
    // posts of a real blog): midnight there, as Ruby reads it.
    if let Some((day, offset)) = normal.split_once(' ')
        && let Ok(date) =
            DateTime::parse_from_str(&format!("{day} 00:00 {offset}"), "%Y-%m-%d %H:%M %z")
    {
        return Some(date);
    }
    const LOCAL: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];
    for format in LOCAL {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normal, format) {
            return Some(localize(naive, tz));
        }
    }
    let date = NaiveDate::parse_from_str(&normal, "%Y-%m-%d").ok()?;
    Some(localize(date.and_time(NaiveTime::MIN), tz))
}

/// `T` between date and time, a `Z` or `UTC` zone, single-digit months and
/// days, a year written twice (`2023-01-29 18:30:22 2023 -0800`, in Jekyll's
/// own news, which Ruby's lenient parser accepts): all written by real blogs,
/// all brought to one shape here.
fn normalise(text: &str) -> String {
    let mut text = text.replacen('T', " ", 1);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() > 3 {
        let year = words[0].get(..4).unwrap_or_default();
        let kept: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|&(i, w)| i == 0 || *w != year)
            .map(|(_, w)| *w)
            .collect();
        text = kept.join(" ");
    }
    for utc in [" UTC", " GMT", "Z"] {
        if let Some(stripped) = text.strip_suffix(utc) {
            text = format!("{} +0000", stripped.trim_end());
        }
    }
    // Ruby reads a three-digit offset (`+800`) as hours and minutes.
    if let Some((head, offset)) = text.rsplit_once(' ')
        && let Some(digits) = offset.strip_prefix(['+', '-'])
        && digits.len() == 3
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        text = format!("{head} {}0{digits}", &offset[..1]);
    }
    // Pad `2013-5-6` to `2013-05-06`.
    let (date, rest) = text.split_once(' ').unwrap_or((&text, ""));
    let parts: Vec<&str> = date.split('-').collect();
    let date = if parts.len() == 3 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        format!("{}-{:0>2}-{:0>2}", parts[0], parts[1], parts[2])
    } else {
        date.to_string()
    };
    if rest.is_empty() {
        date
    } else {
        format!("{date} {}", rest.trim())
    }
}

/// The years a post's date may fall in, both where it was written and in
/// UTC: RSS dates (RFC 2822) and Atom dates (RFC 3339) have four-digit years.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Whether `date` can be written in every feed format.
pub fn in_range(date: &DateTime<FixedOffset>) -> bool {
    YEARS.contains(&date.year()) && YEARS.contains(&date.naive_utc().year())
}

/// Places a wall-clock time in `tz`. In a DST gap the time does not exist,
/// so the moment an hour later is used; in an overlap, the earlier one.
pub fn localize(naive: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
    });
    match local {
        Some(date) => date.fixed_offset(),
        None => naive.and_utc().fixed_offset(),
    }
}

/// Splits `2022-07-19-scipy-mission` into its date and `scipy-mission`.
/// As Jekyll's file name matcher, a month and day may have one digit
/// (`2012-07-9-title`).
pub fn from_file_stem(stem: &str) -> Option<(NaiveDate, &str)> {
    let mut parts = stem.splitn(4, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let slug = parts.next()?;
    let digits =
        |s: &str, min, max| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4, 4) && digits(month, 1, 2) && digits(day, 1, 2)) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?;
    Some((date, slug))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> Tz {
        chrono_tz::UTC
    }

    #[test]
    fn a_three_digit_offset_and_a_one_digit_hour_read_as_ruby_reads_them() {
        let date = parse("2015-04-16 9:52:18 +800", utc()).unwrap();
        assert_eq!(date.to_rfc3339(), "2015-04-16T09:52:18+08:00");
    }

    #[test]
    fn file_names_may_have_one_digit_months_and_days_as_in_jekyll() {
        let (date, slug) = from_file_stem("2012-07-9-what-is-it").unwrap();
        assert_eq!(
            (date.to_string().as_str(), slug),
            ("2012-07-09", "what-is-it")
        );
        assert!(from_file_stem("2012-13-09-x").is_none());
        assert!(from_file_stem("notes-2012-07-09").is_none());
        assert!(from_file_stem("2012-07-09").is_none());
    }

    #[test]
    fn a_day_with_an_offset_and_no_time_is_midnight_there() {
        let date = parse("2023-02-22 +0800", utc()).unwrap();
        assert_eq!(date.to_rfc3339(), "2023-02-22T00:00:00+08:00");
        assert_eq!(
            parse("2023-02-22 -0530", utc()).unwrap().to_rfc3339(),
            "2023-02-22T00:00:00-05:30"
        );
        assert!(parse("2023-02-22 +08000", utc()).is_none());
    }

    #[test]
    fn reads_jekyll_dates_with_a_spaced_offset() {
        let date = parse("2025-01-29 18:15:32 +0530", utc()).unwrap();
        assert_eq!(date.to_rfc3339(), "2025-01-29T18:15:32+05:30");
    }

    #[test]
    fn reads_rfc3339_and_zulu() {
        assert_eq!(
            parse("2024-01-05T10:00:00Z", utc()).unwrap().to_rfc3339(),
            "2024-01-05T10:00:00+00:00"
        );
        assert_eq!(
            parse("2024-01-05T10:00:00-07:00", utc())
                .unwrap()
                .to_rfc3339(),
            "2024-01-05T10:00:00-07:00"
        );
    }

    #[test]
    fn dates_without_offset_use_the_site_time_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            parse("2024-01-05", ny).unwrap().to_rfc3339(),
            "2024-01-05T00:00:00-05:00"
        );
        assert_eq!(
            parse("2024-07-05 09:30", ny).unwrap().to_rfc3339(),
            "2024-07-05T09:30:00-04:00"
        );
    }

    #[test]
    fn a_time_in_a_dst_gap_does_not_fail() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert!(parse("2024-03-10 02:30", ny).is_some());
    }

    #[test]
    fn nonsense_is_not_a_date() {
        assert!(parse("2024-13-45", utc()).is_none());
        assert!(parse("yesterday", utc()).is_none());
        // The last word starts with a character of more than one byte (a
        // byte-order mark the fuzzer put there): refused, not a panic.
        assert!(parse("2024-03-02 \u{feff}30:00", utc()).is_none());
        assert!(parse("2024-03-02 10:00 \u{e9}800", utc()).is_none());
    }

    #[test]
    fn a_repeated_year_is_tolerated_as_ruby_does() {
        let date = parse("2023-01-29 18:30:22 2023 -0800", utc()).unwrap();
        assert_eq!(date.to_rfc3339(), "2023-01-29T18:30:22-08:00");
    }

    #[test]
    fn single_digit_months_are_padded() {
        assert_eq!(
            parse("2013-5-6", utc()).unwrap().to_rfc3339(),
            "2013-05-06T00:00:00+00:00"
        );
    }

    #[test]
    fn dates_outside_four_digit_years_are_out_of_range() {
        for text in [
            "0000-01-01",
            "-0001-06-01",
            "9999-12-31T23:00:00-05:00",
            "+10000-01-01T00:00:00Z",
        ] {
            if let Some(date) = parse(text, utc()) {
                assert!(!in_range(&date), "{text}");
            }
        }
        assert!(in_range(&parse("9999-12-31T23:59:59Z", utc()).unwrap()));
        assert!(in_range(&parse("0001-01-01T00:00:00Z", utc()).unwrap()));
    }

    #[test]
    fn file_stems_give_date_and_slug() {
        let (date, slug) = from_file_stem("2022-07-19-scipy-mission").unwrap();
        assert_eq!(date.to_string(), "2022-07-19");
        assert_eq!(slug, "scipy-mission");
        assert!(from_file_stem("about").is_none());
        assert!(from_file_stem("2022-07-19").is_none());
    }
}
