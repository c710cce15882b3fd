//! The text layout of what the tool keeps in its state: a sequence of
//! netstrings, `{length}:{text},` each, the length in bytes.
//!
//! Every call runs in a fresh instance and reads its state back, so reading
//! must cost little: with the length up front a reader jumps over a field
//! instead of scanning its text for a separator, nothing needs escaping, and
//! every field is borrowed from the stored text. Writing goes straight into
//! one string: numbers are written digit by digit, because the formatting
//! machinery costs several times more guest instructions.

/// Appends fields to a stored text.
pub struct Writer {
    text: String,
}

impl Writer {
    /// An empty record with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Writer {
        Writer {
            text: String::with_capacity(capacity),
        }
    }

    /// Appends a text field.
    pub fn text(&mut self, field: &str) -> &mut Writer {
        push_number(&mut self.text, field.len());
        self.text.push(':');
        self.text.push_str(field);
        self.text.push(',');
        self
    }

    /// Appends a number field (decimal).
    pub fn number(&mut self, n: usize) -> &mut Writer {
        push_number(&mut self.text, decimal_len(n));
        self.text.push(':');
        push_number(&mut self.text, n);
        self.text.push(',');
        self
    }

    /// Appends a number field in lowercase hex, as `{n:x}` writes it.
    pub fn hex(&mut self, n: u64) -> &mut Writer {
        let digits = (16 - n.leading_zeros() as usize / 4).max(1);
        push_number(&mut self.text, digits);
        self.text.push(':');
        for at in (0..digits).rev() {
            let digit = ((n >> (4 * at)) & 0xf) as u8;
            self.text.push(char::from(if digit < 10 {
                b'0' + digit
            } else {
                b'a' + digit - 10
            }));
        }
        self.text.push(',');
        self
    }

    /// Appends a field listing `numbers` in decimal, `separator` between them.
    pub fn numbers(&mut self, numbers: &[usize], separator: char) -> &mut Writer {
        let len = numbers.iter().map(|n| decimal_len(*n)).sum::<usize>()
            + numbers.len().saturating_sub(1) * separator.len_utf8();
        push_number(&mut self.text, len);
        self.text.push(':');
        push_numbers(&mut self.text, numbers, separator);
        self.text.push(',');
        self
    }

    /// The stored text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// Reads fields from a stored text, front to back.
#[derive(Clone)]
pub struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader { rest: text }
    }

    /// The next text field; `None` when there is none or the text is not a
    /// record (a length that runs past the end or does not fall on a
    /// character boundary, a missing `:` or `,`).
    #[inline(always)]
    pub fn text(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let mut len = 0usize;
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            match byte {
                b'0'..=b'9' if at < 9 => len = len * 10 + usize::from(byte - b'0'),
                b':' if at > 0 => break,
                _ => return None,
            }
            at += 1;
        }
        let start = at + 1;
        let end = start + len;
        if bytes.get(end) != Some(&b',') {
            return None;
        }
        let field = self.rest.get(start..end)?;
        self.rest = self.rest.get(end + 1..)?;
        Some(field)
    }

    /// How many bytes are left to read.
    pub fn rest_len(&self) -> usize {
        self.rest.len()
    }

    /// Whether every field was read.
    pub fn is_done(&self) -> bool {
        self.rest.is_empty()
    }
}

/// A decimal number without sign or spaces; `None` for anything else.
pub fn parse_number(text: &str) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0usize, |n, byte| match byte {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(usize::from(byte - b'0')),
        _ => None,
    })
}

/// Decimal numbers with `separator` between them, appended to `out`; `None`
/// (with `out` partly filled) for anything else. An empty text is no
/// numbers.
pub fn parse_numbers(text: &str, separator: u8, out: &mut Vec<usize>) -> Option<()> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Some(());
    }
    let mut n = 0usize;
    let mut digits = 0;
    for &byte in bytes {
        if byte.is_ascii_digit() {
            n = n.checked_mul(10)?.checked_add(usize::from(byte - b'0'))?;
            digits += 1;
        } else if byte == separator && digits > 0 {
            out.push(n);
            n = 0;
            digits = 0;
        } else {
            return None;
        }
    }
    if digits == 0 {
        return None;
    }
    out.push(n);
    Some(())
}

/// Appends `n` in decimal. Numbers below 1000 (lengths, counts, shares in
/// thousandths: nearly all of them) are written without a loop.
pub fn push_number(text: &mut String, n: usize) {
    let digit = |d: usize| char::from(b'0' + d as u8);
    if n < 10 {
        text.push(digit(n));
        return;
    }
    if n < 100 {
        text.push(digit(n / 10));
        text.push(digit(n % 10));
        return;
    }
    if n < 1000 {
        text.push(digit(n / 100));
        text.push(digit(n / 10 % 10));
        text.push(digit(n % 10));
        return;
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    while rest > 0 {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    for digit in &digits[start..] {
        text.push(char::from(*digit));
    }
}

/// Appends `numbers` in decimal, `separator` between them.
pub fn push_numbers(text: &mut String, numbers: &[usize], separator: char) {
    for (at, n) in numbers.iter().enumerate() {
        if at > 0 {
            text.push(separator);
        }
        push_number(text, *n);
    }
}

/// How many digits `n` has in decimal.
pub(crate) fn decimal_len(n: usize) -> usize {
    let mut len = 1;
    let mut rest = n;
    while rest >= 10 {
        rest /= 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_whatever_they_hold() {
        let mut writer = Writer::with_capacity(0);
        writer
            .text("")
            .text("a,b:c|d;e\\f")
            .number(0)
            .number(1207)
            .text("é")
            .hex(0)
            .hex(0x1f)
            .hex(u64::MAX)
            .numbers(&[], ' ')
            .numbers(&[3, 10, 0], ' ');
        let text = writer.finish();
        assert_eq!(
            text,
            "0:,11:a,b:c|d;e\\f,1:0,4:1207,2:é,1:0,2:1f,16:ffffffffffffffff,0:,6:3 10 0,"
        );
        let mut reader = Reader::new(&text);
        assert_eq!(reader.text(), Some(""));
        assert_eq!(reader.text(), Some("a,b:c|d;e\\f"));
        assert_eq!(reader.text().and_then(parse_number), Some(0));
        assert_eq!(reader.text().and_then(parse_number), Some(1207));
        assert!(!reader.is_done());
        assert_eq!(reader.text(), Some("é"));
        for _ in 0..3 {
            reader.text().unwrap();
        }
        let mut numbers = Vec::new();
        parse_numbers(reader.text().unwrap(), b' ', &mut numbers).unwrap();
        parse_numbers(reader.text().unwrap(), b' ', &mut numbers).unwrap();
        assert_eq!(numbers, [3, 10, 0]);
        assert!(reader.is_done());
        assert_eq!(reader.text(), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "3:ab,",
            "2:abc",
            ":ab,",
            "x:ab,",
            "2ab,",
            "1:é,",
            "99999999999:a,",
            "[\"a\"]",
        ] {
            assert_eq!(Reader::new(bad).text(), None, "{bad}");
        }
        assert_eq!(parse_number("x"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("18446744073709551616"), None);
        for bad in ["1,,2", "1,", ",1", "1 2", "a", "18446744073709551616"] {
            assert_eq!(parse_numbers(bad, b',', &mut Vec::new()), None, "{bad}");
        }
        let mut text = String::new();
        push_number(&mut text, 0);
        push_number(&mut text, 907);
        push_number(&mut text, usize::MAX);
        assert_eq!(text, format!("0907{}", usize::MAX));
        for n in [1, 9, 10, 42, 99, 100, 101, 999, 1000, 1001, 65_536] {
            text.clear();
            push_number(&mut text, n);
            assert_eq!(text, n.to_string());
        }
    }
}
