//! Civil dates of day numbers (days since 1970-01-01) and timestamps in milliseconds.

pub const MS_PER_DAY: i64 = 86_400_000;

/// The day (days since 1970-01-01) of a timestamp in milliseconds.
#[cfg(test)]
pub fn day_of_ms(ms: i64) -> i32 {
    ms.div_euclid(MS_PER_DAY) as i32
}

/// (year, month, day of month) of a day number (Howard Hinnant's civil-from-days).
fn civil(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day_of_month)
}

/// Days in the month of a day number.
pub fn days_in_month(day: i32) -> u32 {
    let (year, month, _) = civil(day as i64);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A naive UTC timestamp in milliseconds as ISO-8601 text, as Python's `datetime.isoformat()`
/// writes it: `2026-08-03T04:00:00`, with `.ffffff` only when there are fractions of a second.
pub fn iso_datetime(ms: i64) -> String {
    let (year, month, day) = civil(ms.div_euclid(MS_PER_DAY));
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, millis) = (in_day / 1000 % 60, in_day % 1000);
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if millis != 0 {
        text.push_str(&format!(".{:06}", millis * 1000));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_lengths() {
        // 2027-02-10 is day 20_859; 2027-01-31 is 20_849; 2024-02-29 is 19_782.
        assert_eq!(days_in_month(20_859), 28);
        assert_eq!(days_in_month(20_849), 31);
        assert_eq!(days_in_month(19_782), 29);
        assert_eq!(days_in_month(0), 31);
    }

    #[test]
    fn iso_text_of_timestamps() {
        // 2026-08-03 is day 20_668: 20_668 × 86_400_000 ms, plus 4 h = 14_400_000 ms.
        assert_eq!(
            iso_datetime(20_668 * MS_PER_DAY + 14_400_000),
            "2026-08-03T04:00:00"
        );
        assert_eq!(iso_datetime(0), "1970-01-01T00:00:00");
        // One millisecond before the epoch.
        assert_eq!(iso_datetime(-1), "1969-12-31T23:59:59.999000");
        // 2024-02-29 (day 19_782) at 23:59:30.250.
        let ms = 19_782 * MS_PER_DAY + 86_370_250;
        assert_eq!(iso_datetime(ms), "2024-02-29T23:59:30.250000");
        assert_eq!(day_of_ms(ms), 19_782);
        assert_eq!(day_of_ms(-1), -1);
    }
}
