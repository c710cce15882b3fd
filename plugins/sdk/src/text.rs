//! Small text helpers for tools that compare what a learner said with what
//! the lesson says: words, stop words, stemming by the lesson's locale, and
//! a stable hash for varying choices without a random source.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use rust_stemmers::{Algorithm, Stemmer};

/// Common English words that carry no concept of their own.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either",
    "else", "etc", "even", "ever", "every", "few", "for", "from", "further", "get", "gets", "got",
    "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "however",
    "i", "if", "in", "into", "is", "it", "its", "itself", "just", "let", "like", "may", "me",
    "might", "more", "most", "much", "must", "my", "no", "nor", "not", "now", "of", "off", "on",
    "once", "one", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "shall",
    "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "then", "there", "these", "they", "thing", "things", "this", "those", "through", "thus", "to",
    "too", "under", "until", "up", "upon", "us", "use", "used", "uses", "using", "very", "was",
    "we", "well", "were", "what", "when", "where", "whether", "which", "while", "who", "whom",
    "whose", "why", "will", "with", "within", "without", "would", "yes", "yet", "you", "your",
    "yours",
];

/// Words shorter than this are ignored in languages without a stop-word list.
const MIN_CONCEPT_CHARS: usize = 3;

/// The words of `text`, lowercased, split on anything that is not a letter
/// or a digit.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Calls `f` with each word of `text`, lowercased, as [`words`] lists them,
/// without allocating a string per word: a word already in lowercase ASCII
/// is passed as it stands in `text`. ASCII is classified byte by byte; only
/// other characters are decoded, which spares a guest decoding every
/// character of an English text.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut lowered = String::new();
    let mut emit = |word: &str, plain: bool, ascii: bool| {
        if plain {
            f(word);
        } else if ascii {
            lowered.clear();
            lowered.push_str(word);
            lowered.make_ascii_lowercase();
            f(&lowered);
        } else {
            f(&word.to_lowercase());
        }
    };
    // The current word's start, whether it is only lowercase ASCII letters
    // and digits so far, and whether it is ASCII so far.
    let mut word: Option<(usize, bool, bool)> = None;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let (in_word, width) = if byte.is_ascii() {
            (byte.is_ascii_alphanumeric(), 1)
        } else {
            // `at` only ever stops at a character boundary.
            let c = text.get(at..).and_then(|rest| rest.chars().next());
            c.map_or((false, 1), |c| (c.is_alphanumeric(), c.len_utf8()))
        };
        if in_word {
            let (_, plain, ascii) = word.get_or_insert((at, true, true));
            if byte.is_ascii() {
                *plain &= !byte.is_ascii_uppercase();
            } else {
                *plain = false;
                *ascii = false;
            }
        } else if let Some((start, plain, ascii)) = word.take() {
            emit(&text[start..at], plain, ascii);
        }
        at += width;
    }
    if let Some((start, plain, ascii)) = word {
        emit(&text[start..], plain, ascii);
    }
}

/// The longest English stop word, in bytes.
const MAX_STOP_WORD_BYTES: usize = 7;

/// `word` (at most [`MAX_STOP_WORD_BYTES`] bytes) as one number: its bytes
/// big-endian, zero-padded, then its length. For words without a zero byte
/// the numbers sort as the words do, so the sorted stop-word list gives a
/// sorted table; the length keeps `"a"` and `"a\0"` apart.
const fn stop_word_key(word: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut at = 0;
    while at < MAX_STOP_WORD_BYTES {
        key <<= 8;
        if at < word.len() {
            key |= word[at] as u64;
        }
        at += 1;
    }
    (key << 8) | word.len() as u64
}

/// [`ENGLISH_STOP_WORDS`] as [`stop_word_key`]s: looking a word up compares
/// numbers instead of strings, which costs a guest several times less.
const STOP_WORD_KEYS: [u64; ENGLISH_STOP_WORDS.len()] = {
    let mut keys = [0; ENGLISH_STOP_WORDS.len()];
    let mut at = 0;
    while at < keys.len() {
        let word = ENGLISH_STOP_WORDS[at].as_bytes();
        assert!(word.len() <= MAX_STOP_WORD_BYTES);
        keys[at] = stop_word_key(word);
        at += 1;
    }
    keys
};

/// Whether `word` (lowercase) is an English stop word.
pub fn is_english_stop_word(word: &str) -> bool {
    word.len() <= MAX_STOP_WORD_BYTES
        && STOP_WORD_KEYS
            .binary_search(&stop_word_key(word.as_bytes()))
            .is_ok()
}

/// Turns text into comparable concept terms for one language: words without
/// stop words, reduced to their stem ("photosynthesising" and
/// "photosynthesis" meet), so answers can be compared with the lesson
/// whatever the inflection.
///
/// Stems are remembered for the normalizer's lifetime: a tool compares the
/// same lesson words many times in one call, and stemming is the costly part.
pub struct Normalizer {
    stemmer: Option<Stemmer>,
    english: bool,
    // Ordered maps, not hash maps: std's hasher seeds itself from
    // `wasi:random`, an import teaching tools must not need.
    stems: RefCell<BTreeMap<String, String>>,
    concept_sets: RefCell<BTreeMap<String, Rc<BTreeSet<String>>>>,
}

impl Normalizer {
    /// A normalizer for a BCP 47 locale such as `en-US` or `fr`; languages
    /// without a stemmer keep whole words.
    pub fn for_locale(locale: &str) -> Self {
        let language = locale
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let algorithm = match language.as_str() {
            "" | "en" => Some(Algorithm::English),
            "ar" => Some(Algorithm::Arabic),
            "da" => Some(Algorithm::Danish),
            "de" => Some(Algorithm::German),
            "el" => Some(Algorithm::Greek),
            "es" => Some(Algorithm::Spanish),
            "fi" => Some(Algorithm::Finnish),
            "fr" => Some(Algorithm::French),
            "hu" => Some(Algorithm::Hungarian),
            "it" => Some(Algorithm::Italian),
            "nb" | "nn" | "no" => Some(Algorithm::Norwegian),
            "nl" => Some(Algorithm::Dutch),
            "pt" => Some(Algorithm::Portuguese),
            "ro" => Some(Algorithm::Romanian),
            "ru" => Some(Algorithm::Russian),
            "sv" => Some(Algorithm::Swedish),
            "ta" => Some(Algorithm::Tamil),
            "tr" => Some(Algorithm::Turkish),
            _ => None,
        };
        Normalizer {
            stemmer: algorithm.map(Stemmer::create),
            english: matches!(language.as_str(), "" | "en"),
            stems: RefCell::new(BTreeMap::new()),
            concept_sets: RefCell::new(BTreeMap::new()),
        }
    }

    /// Whether the locale is English (the only language with a stop-word
    /// list, and the language of the SDK's own phrasing helpers).
    pub fn is_english(&self) -> bool {
        self.english
    }

    /// Whether the stem of a word always begins with the word's first
    /// character: in English (Porter2 only ever rewrites the end of a word,
    /// after its first character) and where words are not stemmed. A tool
    /// comparing words against known terms can then skip stemming a word
    /// whose first character begins none of them.
    pub fn stems_keep_first_char(&self) -> bool {
        self.english || self.stemmer.is_none()
    }

    /// Whether `word` (lowercase) carries a concept: not a stop word (in
    /// English) and not a tiny word (elsewhere). Numbers always count.
    pub fn is_concept_word(&self, word: &str) -> bool {
        if word.bytes().all(|byte| byte.is_ascii_digit()) {
            return true;
        }
        if self.english {
            // More than one character.
            word.chars().nth(1).is_some() && !is_english_stop_word(word)
        } else {
            word.chars().nth(MIN_CONCEPT_CHARS - 1).is_some()
        }
    }

    /// The stem of one lowercase word.
    pub fn stem(&self, word: &str) -> String {
        let Some(stemmer) = &self.stemmer else {
            return word.to_owned();
        };
        if let Some(stem) = self.stems.borrow().get(word) {
            return stem.clone();
        }
        let stem = stemmer.stem(word).into_owned();
        self.stems
            .borrow_mut()
            .insert(word.to_owned(), stem.clone());
        stem
    }

    /// The stem of one lowercase word, not remembered: for words met once,
    /// such as a learner's, where keeping them costs more than it saves.
    /// Borrowed when stemming leaves the word as it is.
    pub fn stem_once<'w>(&self, word: &'w str) -> Cow<'w, str> {
        match &self.stemmer {
            Some(stemmer) => stemmer.stem(word),
            None => Cow::Borrowed(word),
        }
    }

    /// The concept terms of `text`, in order, repeats kept.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut terms = Vec::new();
        for_each_word(text, |word| {
            if self.is_concept_word(word) {
                terms.push(self.stem(word));
            }
        });
        terms
    }

    /// The distinct concept terms of `text` (remembered per text, since
    /// tools compare the same lesson statements over and over).
    pub fn concepts(&self, text: &str) -> BTreeSet<String> {
        BTreeSet::clone(&self.shared_concepts(text))
    }

    /// [`Normalizer::concepts`] without a copy: the set the normalizer
    /// remembers, shared. For code that only reads the set; each copy costs
    /// a node and a string per concept, which adds up when the same
    /// statements are compared many times.
    pub fn shared_concepts(&self, text: &str) -> Rc<BTreeSet<String>> {
        if let Some(concepts) = self.concept_sets.borrow().get(text) {
            return Rc::clone(concepts);
        }
        let concepts: Rc<BTreeSet<String>> = Rc::new(self.terms(text).into_iter().collect());
        self.concept_sets
            .borrow_mut()
            .insert(text.to_owned(), Rc::clone(&concepts));
        concepts
    }

    /// The concept words of `text` as written (not stemmed), each once, in
    /// order: what to name to a learner when saying what was missed.
    pub fn concept_words(&self, text: &str) -> Vec<String> {
        let mut seen = BTreeSet::new();
        words(text)
            .into_iter()
            .filter(|word| self.is_concept_word(word))
            .filter(|word| seen.insert(self.stem(word)))
            .collect()
    }
}

/// How much of `expected` (concept terms) appears in `given`: the terms
/// found, the terms missing, and the share found (0.0 when nothing was
/// expected).
pub fn coverage(expected: &BTreeSet<String>, given: &BTreeSet<String>) -> Coverage {
    let (found, missing): (Vec<String>, Vec<String>) = expected
        .iter()
        .cloned()
        .partition(|term| given.contains(term));
    let share = if expected.is_empty() {
        0.0
    } else {
        found.len() as f32 / expected.len() as f32
    };
    Coverage {
        found,
        missing,
        share,
    }
}

/// The result of [`coverage`].
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Expected terms present in the answer.
    pub found: Vec<String>,
    /// Expected terms absent from the answer.
    pub missing: Vec<String>,
    /// `found / expected`, from 0.0 to 1.0.
    pub share: f32,
}

/// A stable 64-bit hash (FNV-1a) of `text`: the same on every run and every
/// platform, for choosing "at random" deterministically from the session
/// id, a counter and so on.
pub fn stable_hash(text: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The first sentence of `text` (up to and including the first `.`, `!` or
/// `?` followed by a space or the end), trimmed.
pub fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') {
            match chars.peek() {
                None => return text,
                Some((_, next)) if next.is_whitespace() => return &text[..index + c.len_utf8()],
                Some(_) => {}
            }
        }
    }
    text
}

/// `text` cut to at most `max_words` words, with `…` when cut.
pub fn truncate_words(text: &str, max_words: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= max_words {
        words.join(" ")
    } else {
        format!("{}…", words[..max_words].join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = ENGLISH_STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ENGLISH_STOP_WORDS);
    }

    #[test]
    fn stop_words_are_found_by_their_keys_and_nothing_else() {
        let mut sorted_keys = STOP_WORD_KEYS.to_vec();
        sorted_keys.sort_unstable();
        assert_eq!(sorted_keys, STOP_WORD_KEYS);
        for word in ENGLISH_STOP_WORDS {
            assert!(is_english_stop_word(word), "{word}");
            for extra in ["s", "\0", "é"] {
                let longer = format!("{word}{extra}");
                let expected = ENGLISH_STOP_WORDS.contains(&longer.as_str());
                assert_eq!(is_english_stop_word(&longer), expected, "{longer:?}");
            }
            let shorter = &word[..word.len() - 1];
            assert_eq!(
                is_english_stop_word(shorter),
                ENGLISH_STOP_WORDS.contains(&shorter),
                "{shorter:?}"
            );
        }
        for word in [
            "",
            "\0",
            "a\0",
            "abouts",
            "themselves",
            "leaf",
            "zzzzzzz",
            "ÿÿÿÿ",
        ] {
            assert!(!is_english_stop_word(word), "{word:?}");
        }
    }

    #[test]
    fn concept_words_by_language() {
        let en = Normalizer::for_locale("en");
        let fr = Normalizer::for_locale("fr");
        for (word, english, other) in [
            ("", true, true),
            ("42", true, true),
            ("x", false, false),
            ("é", false, false),
            ("éa", true, false),
            ("the", false, true),
            ("ab", true, false),
            ("abc", true, true),
            ("lumière", true, true),
        ] {
            assert_eq!(en.is_concept_word(word), english, "{word:?}");
            assert_eq!(fr.is_concept_word(word), other, "{word:?}");
        }
    }

    #[test]
    fn english_stems_begin_as_their_words_do() {
        let en = Normalizer::for_locale("en");
        assert!(en.stems_keep_first_char());
        assert!(Normalizer::for_locale("xx").stems_keep_first_char());
        assert!(!Normalizer::for_locale("nl").stems_keep_first_char());
        // The exceptional forms, a leading and a vowel-like `y`, suffixes
        // that are the whole word, doubled letters, and a sample of prose.
        let mut words: Vec<String> = [
            "skis",
            "skies",
            "dying",
            "lying",
            "tying",
            "idly",
            "gently",
            "ugly",
            "early",
            "only",
            "singly",
            "sky",
            "news",
            "howe",
            "atlas",
            "cosmos",
            "bias",
            "andes",
            "inning",
            "outing",
            "canning",
            "herring",
            "earring",
            "proceed",
            "exceed",
            "succeed",
            "y",
            "ys",
            "yes",
            "yelling",
            "youth",
            "yyy",
            "ies",
            "ied",
            "sses",
            "ss",
            "s",
            "us",
            "eed",
            "eedly",
            "ed",
            "edly",
            "ing",
            "ingly",
            "ational",
            "tional",
            "ization",
            "iveness",
            "fulness",
            "ousness",
            "alism",
            "aliti",
            "iviti",
            "biliti",
            "logi",
            "li",
            "ement",
            "ment",
            "ent",
            "ion",
            "sion",
            "tion",
            "e",
            "l",
            "ll",
            "adding",
            "hopping",
            "eeing",
            "a",
            "é",
            "école",
            "naïve",
            "2nd",
            "42",
            "x1y",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ]
        .map(str::to_owned)
        .to_vec();
        for text in [
            include_str!("lib.rs"),
            include_str!("lesson.rs"),
            include_str!("../README.md"),
        ] {
            words.extend(super::words(text));
        }
        for word in &words {
            let stem = en.stem(word);
            assert_eq!(stem.chars().next(), word.chars().next(), "{word} -> {stem}");
        }
    }

    #[test]
    fn inflections_meet_in_one_stem() {
        let en = Normalizer::for_locale("en-GB");
        assert_eq!(
            en.concepts("Plants are converting light"),
            en.concepts("the plant converts lights")
        );
        assert!(en.concepts("the and of").is_empty());
    }

    #[test]
    fn other_languages_stem_with_their_own_rules() {
        let fr = Normalizer::for_locale("fr-FR");
        assert_eq!(fr.stem("plantes"), fr.stem("plante"));
        let unknown = Normalizer::for_locale("xx");
        assert_eq!(unknown.stem("plants"), "plants");
        assert!(!unknown.is_concept_word("of"));
    }

    #[test]
    fn coverage_names_what_is_missing() {
        let en = Normalizer::for_locale("en");
        let expected = en.concepts("Chlorophyll absorbs red and blue light");
        let given = en.concepts("it absorbs the light");
        let result = coverage(&expected, &given);
        assert_eq!(result.found, vec!["absorb", "light"]);
        assert_eq!(result.missing.len(), 3);
        assert!((result.share - 0.4).abs() < 1e-6);
    }

    #[test]
    fn concept_words_keep_the_written_form_once() {
        let en = Normalizer::for_locale("en");
        assert_eq!(
            en.concept_words("Leaves absorb light; the leaf absorbs"),
            vec!["leaves", "absorb", "light", "leaf"]
        );
    }

    #[test]
    fn words_are_lowercased_runs_of_letters_and_digits() {
        let text = "İstanbul's ÉCOLE, co2 & H2O—naïve  ΣΟΦΊΑ; x";
        let mut seen = Vec::new();
        for_each_word(text, |word| seen.push(word.to_owned()));
        assert_eq!(seen, words(text));
        for other in [
            "",
            " ",
            "a",
            "Light",
            "light, WATER and Carbon-dioxide.",
            "é",
            "xé",
            "éx ",
            "a\u{a0}b\u{2003}c",
            "½ ² ٣ Ⅳ",
            "ǅungla ﬁre Straße",
            "the end",
        ] {
            let mut seen = Vec::new();
            for_each_word(other, |word| seen.push(word.to_owned()));
            assert_eq!(seen, words(other), "{other:?}");
        }
        assert_eq!(
            seen,
            [
                "i̇stanbul",
                "s",
                "école",
                "co2",
                "h2o",
                "naïve",
                "σοφία",
                "x"
            ]
        );
    }

    #[test]
    fn sentences_and_truncation() {
        assert_eq!(first_sentence("It is 3.5 m. Then more."), "It is 3.5 m.");
        assert_eq!(first_sentence("No stop"), "No stop");
        assert_eq!(truncate_words("a b c d", 2), "a b…");
        assert_eq!(truncate_words(" a  b ", 5), "a b");
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(stable_hash("a"), stable_hash("b"));
    }
}
