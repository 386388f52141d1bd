//! Resource quantities (`500m`, `128Mi`, `1.5`, `2G`) as numbers.

/// A quantity in thousandths of a unit (CPU `500m` = 500, memory `1Ki` = 1_024_000); `None` when
/// it does not parse.
pub fn milli_value(text: &str) -> Option<i128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let multiplier_milli: i128 = match suffix {
        "" => 1000,
        "m" => 1,
        "k" => 1000 * 1000,
        "M" => 1000 * 1_000_000,
        "G" => 1000 * 1_000_000_000,
        "T" => 1000 * 1_000_000_000_000,
        "P" => 1000 * 1_000_000_000_000_000,
        "E" => 1000 * 1_000_000_000_000_000_000,
        "Ki" => 1000 << 10,
        "Mi" => 1000 << 20,
        "Gi" => 1000 << 30,
        "Ti" => 1000 << 40,
        "Pi" => 1000 << 50,
        "Ei" => 1000 << 60,
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let negative = whole.starts_with('-');
    let whole: i128 = match whole.trim_start_matches(['+', '-']) {
        "" => 0,
        digits => digits.parse().ok()?,
    };
    let mut value = whole * multiplier_milli;
    let mut scale = multiplier_milli;
    for digit in fraction.chars() {
        let digit = i128::from(digit.to_digit(10)? as u8);
        scale /= 10;
        value += digit * scale;
        if scale == 0 {
            break;
        }
    }
    Some(if negative { -value } else { value })
}

/// A quantity in whole units, rounded up (`1.5Ki` = 1536, `100m` = 1).
pub fn value(text: &str) -> Option<i64> {
    let milli = milli_value(text)?;
    i64::try_from((milli + 999).div_euclid(1000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_quantities_parse() {
        assert_eq!(milli_value("500m"), Some(500));
        assert_eq!(milli_value("2"), Some(2000));
        assert_eq!(milli_value("0.25"), Some(250));
        assert_eq!(value("128Mi"), Some(128 << 20));
        assert_eq!(value("1G"), Some(1_000_000_000));
        assert_eq!(value("1.5Ki"), Some(1536));
        assert_eq!(value("100m"), Some(1));
        assert_eq!(milli_value("12x"), None);
        assert_eq!(milli_value(""), None);
    }
}
