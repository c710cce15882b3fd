//! The questions asked in this session, as kept in the state: each distinct
//! id once, then the order asked as indices into them. Read and written on
//! every call, so it stays small (a handful of ids, short numbers) however
//! long the history, and needs no JSON list.
//!
//! Layout: the [`escape`]d ids separated by `;`, `|`, then the indices
//! separated by spaces, oldest first.

use crate::bank::{escape, unescape};

/// Separates the id table from the order.
const SECTION_SEPARATOR: char = '|';
/// Separates ids (escaped ids hold none).
const ID_SEPARATOR: char = ';';
/// Separates indices.
const INDEX_SEPARATOR: char = ' ';

/// The ids asked, oldest first, the last `max_entries` at most.
pub struct History {
    ids: Vec<String>,
    order: Vec<usize>,
}

impl History {
    /// The history stored as `text`; empty when `text` is not one (nothing
    /// stored yet, or an older plugin version's layout).
    pub fn parse(text: &str) -> History {
        let empty = History {
            ids: Vec::new(),
            order: Vec::new(),
        };
        let Some((ids, order)) = text.split_once(SECTION_SEPARATOR) else {
            return empty;
        };
        let ids: Vec<String> = ids
            .split(ID_SEPARATOR)
            .filter(|id| !id.is_empty())
            .map(|id| unescape(id).into_owned())
            .collect();
        // One pass over the bytes rather than `split` and `str::parse`: the
        // order is read on every call and holds up to the kept maximum of
        // entries, and the generic path costs hundreds of guest instructions
        // per entry.
        let mut indices = Vec::with_capacity(order.len() / 2 + 1);
        let mut index: Option<usize> = None;
        for byte in order.bytes().chain(std::iter::once(INDEX_SEPARATOR as u8)) {
            match byte {
                b'0'..=b'9' => {
                    let digit = usize::from(byte - b'0');
                    index = Some(index.unwrap_or(0).saturating_mul(10).saturating_add(digit));
                }
                _ if byte == INDEX_SEPARATOR as u8 => {
                    if let Some(i) = index.take() {
                        if i >= ids.len() {
                            return empty;
                        }
                        indices.push(i);
                    }
                }
                _ => return empty,
            }
        }
        History {
            ids,
            order: indices,
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * self.ids.len() + 3 * self.order.len());
        for (n, id) in self.ids.iter().enumerate() {
            if n > 0 {
                text.push(ID_SEPARATOR);
            }
            text.push_str(&escape(id));
        }
        text.push(SECTION_SEPARATOR);
        // Bytes, not chars: this writes every kept entry on every call.
        let mut order = Vec::with_capacity(3 * self.order.len());
        for (n, index) in self.order.iter().enumerate() {
            if n > 0 {
                order.push(INDEX_SEPARATOR as u8);
            }
            push_digits(&mut order, *index);
        }
        text.push_str(std::str::from_utf8(&order).unwrap_or_default());
        text
    }

    /// How many questions were asked (up to the kept maximum).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The question asked last.
    pub fn last(&self) -> Option<&str> {
        self.order.last().map(|i| self.ids[*i].as_str())
    }

    /// How often `id` was asked.
    pub fn times_asked(&self, id: &str) -> usize {
        match self.ids.iter().position(|known| known == id) {
            Some(index) => self.order.iter().filter(|i| **i == index).count(),
            None => 0,
        }
    }

    /// Records that `id` was asked, keeping the last `max_entries` only and
    /// forgetting ids no longer among them.
    pub fn push(&mut self, id: &str, max_entries: usize) {
        let index = match self.ids.iter().position(|known| known == id) {
            Some(index) => index,
            None => {
                self.ids.push(id.to_owned());
                self.ids.len() - 1
            }
        };
        self.order.push(index);
        if self.order.len() > max_entries {
            self.order.drain(..self.order.len() - max_entries);
            let mut used = vec![false; self.ids.len()];
            for i in &self.order {
                used[*i] = true;
            }
            if used.contains(&false) {
                let mut renumbered = vec![0; self.ids.len()];
                let mut ids = Vec::new();
                for (old, id) in self.ids.drain(..).enumerate() {
                    if used[old] {
                        renumbered[old] = ids.len();
                        ids.push(id);
                    }
                }
                self.ids = ids;
                for i in &mut self.order {
                    *i = renumbered[*i];
                }
            }
        }
    }
}

/// Appends `n` in decimal (without the formatting machinery, which is
/// costly for the many small numbers written on every call).
pub fn push_number(text: &mut String, n: usize) {
    let mut digits = Vec::with_capacity(20);
    push_digits(&mut digits, n);
    text.push_str(std::str::from_utf8(&digits).unwrap_or_default());
}

/// Appends the ASCII decimal digits of `n`.
fn push_digits(out: &mut Vec<u8>, n: usize) {
    if n < 10 {
        out.push(b'0' + n as u8);
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
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_reads_back_and_keeps_the_last_entries() {
        let mut history = History::parse("");
        for id in ["a", "b c", "a", "d|e;f", "a"] {
            history.push(id, 4);
        }
        let again = History::parse(&history.encode());
        assert_eq!(again.len(), 4);
        assert_eq!(again.last(), Some("a"));
        assert_eq!(again.times_asked("a"), 2);
        assert_eq!(again.times_asked("b c"), 1);
        assert_eq!(again.times_asked("d|e;f"), 1);
        let mut trimmed = again;
        trimmed.push("z", 2);
        assert_eq!(trimmed.times_asked("b c"), 0);
        assert_eq!(trimmed.ids.len(), 2);
        assert_eq!(History::parse(&trimmed.encode()).last(), Some("z"));
        assert_eq!(History::parse("[\"a\"]").len(), 0);
        let mut text = String::new();
        push_number(&mut text, 1207);
        assert_eq!(text, "1207");
        assert_eq!(History::parse("a|0 7").len(), 0);
    }
}
