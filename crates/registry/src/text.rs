//! Text as people type it: search keys that match Azerbaijani, English and Russian text
//! case- and accent-insensitively, with Azerbaijani's own case rules (İ/i and I/ı are two
//! different letters) and the letters people write without their marks on a Latin keyboard
//! (`e` for `ə`, `s` for `ş`, `c` for `ç`, `g` for `ğ`, `o` for `ö`, `u` for `ü`, `i` for `ı`).
//! Also a similarity of names, for the duplicate check of new information systems (P-3.4).

/// The search key of `text`: lower case by Azerbaijani rules, marks folded, punctuation a
/// space, runs of spaces one.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        let folded: &str = match c {
            // Azerbaijani (and Turkish) casing first: dotted İ is i, dotless I is ı → i
            'İ' | 'i' | 'I' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'ì' | 'í' | 'î' | 'ï' => "i",
            'Ə' | 'ə' | 'Ä' | 'ä' | 'E' | 'e' | 'É' | 'é' | 'È' | 'è' | 'Ê' | 'ê' | 'Ë' | 'ë' => "e",
            'Ş' | 'ş' | 'S' | 's' => "s",
            'Ç' | 'ç' | 'C' | 'c' => "c",
            'Ğ' | 'ğ' | 'G' | 'g' => "g",
            'Ö' | 'ö' | 'O' | 'o' | 'Ó' | 'ó' | 'Ò' | 'ò' | 'Ô' | 'ô' => "o",
            'Ü' | 'ü' | 'U' | 'u' | 'Ú' | 'ú' | 'Ù' | 'ù' | 'Û' | 'û' => "u",
            // Russian: ё is written е
            'Ё' | 'ё' => "е",
            'Й' | 'й' => "и",
            // combining marks (a decomposed "i̇" from lower-casing "İ", accents typed apart)
            '\u{0300}'..='\u{036F}' => continue,
            c if c.is_alphanumeric() => {
                for l in c.to_lowercase() {
                    out.push(l);
                }
                space = false;
                continue;
            }
            _ => {
                if !space {
                    out.push(' ');
                    space = true;
                }
                continue;
            }
        };
        out.push_str(folded);
        space = false;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether every word of `query` starts a word of `text` (both folded): "sosial muda"
/// finds "Sosial müdafiə".
pub fn matches(folded_text: &str, folded_query: &str) -> bool {
    let words: Vec<&str> = folded_text.split(' ').collect();
    folded_query.split(' ').filter(|q| !q.is_empty()).all(|q| words.iter().any(|w| w.starts_with(q)))
}

/// How alike two names are, 0.0 to 1.0: the Jaccard index of their folded letter trigrams,
/// with the words that say nothing about a system ("informasiya", "sistemi", …) left out.
pub fn similarity(a: &str, b: &str) -> f64 {
    let ta = trigrams(a);
    let tb = trigrams(b);
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let common = ta.intersection(&tb).count() as f64;
    common / (ta.len() + tb.len()) as f64 * 2.0
}

/// Words too common in system names to tell two systems apart.
const NOISE: &[&str] = &[
    "informasiya",
    "sistemi",
    "sistem",
    "ehtiyati",
    "ehtiyatı",
    "uzre",
    "elektron",
    "melumat",
    "bazasi",
    "bankı",
    "banki",
    "ve",
    "ile",
    "the",
    "of",
    "and",
    "information",
    "system",
    "resource",
    "database",
];

fn trigrams(text: &str) -> std::collections::BTreeSet<String> {
    let folded = fold(text);
    let mut out = std::collections::BTreeSet::new();
    for word in folded.split(' ').filter(|w| !NOISE.contains(w) && w.chars().count() > 1) {
        let chars: Vec<char> = format!(" {word} ").chars().collect();
        for w in chars.windows(3) {
            out.insert(w.iter().collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn azerbaijani_letters_fold_as_people_type_them() {
        assert_eq!(fold("İSMAYILLI"), "ismayilli");
        assert_eq!(fold("Əmək və Əhalinin Sosial Müdafiəsi"), "emek ve ehalinin sosial mudafiesi");
        assert_eq!(fold("Dövlət Şəhərsalma, Arxitektura!"), "dovlet sehersalma arxitektura");
        assert_eq!(fold("  Ağ  şəhər "), "ag seher");
        assert_eq!(fold("Ёлка ПЕНСИЯ"), "елка пенсия");
        assert!(!matches(&fold("Əlilliyi olan şəxslər üzrə informasiya sistemi"), &fold("elillik")));
        assert!(matches(&fold("Əlilliyi olan şəxslər üzrə informasiya sistemi"), &fold("elilliyi sexs")));
        assert!(matches(&fold("Пенсионный капитал"), &fold("пенсион")));
    }

    #[test]
    fn near_duplicate_names_are_alike() {
        let a = "Əlilliyi olan şəxslər üzrə informasiya sistemi";
        assert!(similarity(a, "Əlilliyi olan şəxslərin informasiya sistemi") > 0.6);
        assert!(similarity(a, "Qaz abunəçiləri üzrə informasiya ehtiyatı") < 0.2);
        assert!((similarity(a, a) - 1.0).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn folding_is_idempotent_and_case_blind(s in "[a-zA-ZəƏöÖüÜğĞışŞçÇİ .,-]{0,40}", any in "\\PC{0,40}") {
            let any_once = fold(&any);
            prop_assert_eq!(fold(&any_once), any_once);
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
            prop_assert_eq!(fold(&s.to_uppercase().replace('I', "İ")), fold(&s.to_lowercase().replace('ı', "i")));
        }

        #[test]
        fn a_text_matches_its_own_words(words in proptest::collection::vec("[a-zəöüğışç]{1,8}", 1..5)) {
            let text = words.join(" ");
            prop_assert!(matches(&fold(&text), &fold(&words[0].to_uppercase())));
        }
    }
}
