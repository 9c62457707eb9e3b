//! Keyword extraction (SPEC §3): a concern becomes canonical service keywords.
//!
//! Matching is on whole words, so "AC" finds HVAC but "replace" and "black" do not, and "CEL"
//! finds a check engine light but "cancel" does not. A pattern word also matches its simple
//! plural ("pads", "diagnostics", "batteries"), and any run of punctuation separates words
//! ("check-engine light"). "A/C" is read as one word, "ac".

/// One canonical keyword and the word sequences that signal it.
struct Rule {
    keyword: &'static str,
    patterns: &'static [&'static [&'static str]],
}

/// Rule order is output order: diagnostics, repairs, maintenance, installation, brands.
const RULES: &[Rule] = &[
    Rule {
        keyword: "check engine light",
        patterns: &[
            &["check", "engine"],
            &["cel"],
            &["engine", "light"],
            &["mil", "light"],
        ],
    },
    Rule {
        keyword: "ABS warning",
        patterns: &[&["abs"], &["anti", "lock", "brake"], &["antilock", "brake"]],
    },
    Rule {
        keyword: "airbag light",
        patterns: &[&["airbag"], &["air", "bag"], &["srs", "light"]],
    },
    Rule {
        keyword: "transmission diagnostic",
        patterns: &[
            &["transmission", "diagnostic"],
            &["transmission", "problem"],
            &["transmission", "slipping"],
            &["slipping", "gear"],
            &["hard", "shift"],
            &["gearbox"],
        ],
    },
    Rule {
        keyword: "electrical diagnostic",
        patterns: &[
            &["electrical"],
            &["wiring"],
            &["short", "circuit"],
            &["fuse"],
            &["parasitic", "drain"],
        ],
    },
    Rule {
        keyword: "engine diagnostic",
        patterns: &[
            &["engine", "diagnostic"],
            &["misfire"],
            &["misfiring"],
            &["engine", "noise"],
            &["engine", "knock"],
            &["knocking"],
            &["stalling"],
            &["stall"],
            &["rough", "idle"],
            &["engine", "problem"],
        ],
    },
    Rule {
        keyword: "HVAC diagnostic",
        patterns: &[
            &["hvac"],
            &["ac"],
            &["air", "conditioning"],
            &["air", "conditioner"],
            &["heater"],
            &["heat"],
            &["climate", "control"],
            &["blower"],
            &["defroster"],
        ],
    },
    Rule {
        keyword: "battery diagnostic",
        patterns: &[
            &["battery"],
            &["alternator"],
            &["jump", "start"],
            &["won", "t", "start"],
            &["wont", "start"],
            &["no", "start"],
        ],
    },
    Rule {
        keyword: "brake repair",
        patterns: &[&["brake"], &["braking"], &["rotor"], &["caliper"]],
    },
    Rule {
        keyword: "suspension repair",
        patterns: &[
            &["suspension"],
            &["shock"],
            &["strut"],
            &["control", "arm"],
            &["ball", "joint"],
            &["sway", "bar"],
        ],
    },
    Rule {
        keyword: "steering repair",
        patterns: &[&["steering"], &["tie", "rod"], &["alignment"]],
    },
    Rule {
        keyword: "exhaust repair",
        patterns: &[&["exhaust"], &["muffler"], &["catalytic", "converter"]],
    },
    Rule {
        keyword: "cooling system repair",
        patterns: &[
            &["cooling", "system"],
            &["radiator"],
            &["overheat"],
            &["overheating"],
            &["coolant", "leak"],
            &["water", "pump"],
            &["thermostat"],
        ],
    },
    Rule {
        keyword: "fuel system repair",
        patterns: &[
            &["fuel", "system"],
            &["fuel", "pump"],
            &["fuel", "injector"],
            &["injector"],
            &["fuel", "leak"],
            &["fuel", "filter"],
        ],
    },
    Rule {
        keyword: "oil change",
        patterns: &[
            &["oil", "change"],
            &["change", "oil"],
            &["change", "the", "oil"],
            &["oil", "service"],
        ],
    },
    Rule {
        keyword: "tire rotation",
        patterns: &[
            &["tire", "rotation"],
            &["tyre", "rotation"],
            &["rotate", "tire"],
            &["rotate", "the", "tire"],
            &["rotate", "my", "tire"],
        ],
    },
    Rule {
        keyword: "brake pad replacement",
        patterns: &[&["brake", "pad"], &["pad", "replacement"]],
    },
    Rule {
        keyword: "timing belt replacement",
        patterns: &[&["timing", "belt"]],
    },
    Rule {
        keyword: "air filter replacement",
        patterns: &[&["air", "filter"], &["cabin", "filter"]],
    },
    Rule {
        keyword: "spark plug replacement",
        patterns: &[&["spark", "plug"]],
    },
    Rule {
        keyword: "coolant flush",
        patterns: &[
            &["coolant", "flush"],
            &["flush", "coolant"],
            &["flush", "the", "coolant"],
            &["radiator", "flush"],
        ],
    },
    Rule {
        keyword: "transmission fluid change",
        patterns: &[&["transmission", "fluid"], &["atf"]],
    },
    Rule {
        keyword: "backup camera installation",
        patterns: &[
            &["backup", "camera"],
            &["back", "up", "camera"],
            &["reverse", "camera"],
            &["reversing", "camera"],
            &["rear", "camera"],
            &["rearview", "camera"],
        ],
    },
    Rule {
        keyword: "dashcam installation",
        patterns: &[&["dashcam"], &["dash", "cam"], &["dash", "camera"]],
    },
    Rule {
        keyword: "remote starter installation",
        patterns: &[&["remote", "starter"], &["remote", "start"]],
    },
    Rule {
        keyword: "audio installation",
        patterns: &[
            &["audio"],
            &["stereo"],
            &["speaker"],
            &["subwoofer"],
            &["head", "unit"],
            &["carplay"],
            &["android", "auto"],
        ],
    },
    Rule {
        keyword: "GPS tracker installation",
        patterns: &[&["gps"], &["tracker"], &["tracking", "device"]],
    },
    Rule {
        keyword: "alarm installation",
        patterns: &[
            &["alarm"],
            &["security", "system"],
            &["immobilizer"],
            &["immobiliser"],
        ],
    },
    Rule {
        keyword: "BMW diagnostics",
        patterns: &[&["bmw"]],
    },
    Rule {
        keyword: "Tesla diagnostics",
        patterns: &[&["tesla"]],
    },
    Rule {
        keyword: "Mercedes diagnostics",
        patterns: &[&["mercedes"], &["benz"]],
    },
    Rule {
        keyword: "Audi diagnostics",
        patterns: &[&["audi"]],
    },
    Rule {
        keyword: "Porsche diagnostics",
        patterns: &[&["porsche"]],
    },
];

// Matching keeps "which canonical keywords" as bits of a u64.
const _: () = assert!(RULES.len() <= 64, "canonical keywords must fit a u64 mask");

/// Every canonical keyword, in rule order (for forms, docs and tests).
pub fn canonical_keywords() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.keyword)
}

/// The position of a canonical keyword in rule order.
pub fn canonical_index(keyword: &str) -> Option<usize> {
    RULES.iter().position(|r| r.keyword == keyword)
}

/// Every pattern by its first word: (rule, pattern) pairs in rule order.
type FirstWords = std::collections::HashMap<&'static str, Vec<(usize, &'static [&'static str])>>;

/// Built once: a concern's words are looked up here instead of every pattern being tried at
/// every word (a hundred patterns against each word was 3 % of an intake's instructions).
static BY_FIRST_WORD: std::sync::LazyLock<FirstWords> = std::sync::LazyLock::new(|| {
    let mut index = FirstWords::new();
    for (rule, r) in RULES.iter().enumerate() {
        for pattern in r.patterns {
            index.entry(pattern[0]).or_default().push((rule, *pattern));
        }
    }
    index
});

/// The canonical keywords a concern mentions, de-duplicated, in rule order.
pub fn extract_keywords(concern: &str) -> Vec<&'static str> {
    let lower = concern.to_lowercase();
    let words = words(&lower);
    let mut found: u64 = 0;
    for (i, word) in words.iter().enumerate() {
        for form in singular_forms(word).into_iter().flatten() {
            let Some(patterns) = BY_FIRST_WORD.get(form.as_ref()) else {
                continue;
            };
            for &(rule, pattern) in patterns {
                if found & (1 << rule) == 0
                    && words.len() - i >= pattern.len()
                    && words[i + 1..]
                        .iter()
                        .zip(&pattern[1..])
                        .all(|(word, want)| word_matches(word, want))
                {
                    found |= 1 << rule;
                }
            }
        }
    }
    RULES
        .iter()
        .enumerate()
        .filter(|(rule, _)| found & (1 << rule) != 0)
        .map(|(_, r)| r.keyword)
        .collect()
}

/// Lower-cased alphanumeric words of an already lower-cased text; "a/c" is kept together as
/// "ac".
fn words(lower: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for chunk in lower.split(|c: char| !(c.is_alphanumeric() || c == '/')) {
        if chunk == "a/c" {
            out.push("ac");
            continue;
        }
        out.extend(chunk.split('/').filter(|w| !w.is_empty()));
    }
    out
}

/// The pattern words `word` matches by [`word_matches`]: itself, and the singulars its plural
/// endings allow (s, es, ies → y).
fn singular_forms(word: &str) -> [Option<std::borrow::Cow<'_, str>>; 4] {
    let s = word.strip_suffix('s');
    let es = s.and_then(|stem| stem.strip_suffix('e'));
    let ies = es
        .and_then(|stem| stem.strip_suffix('i'))
        .map(|stem| format!("{stem}y").into());
    [
        Some(word.into()),
        s.map(Into::into),
        es.map(Into::into),
        ies,
    ]
}

/// A word matches a pattern word exactly or as its simple plural (s, es, y→ies).
fn word_matches(word: &str, want: &str) -> bool {
    if word == want {
        return true;
    }
    if let Some(stem) = word.strip_suffix('s') {
        if stem == want {
            return true;
        }
        if let Some(stem) = stem.strip_suffix('e') {
            if stem == want {
                return true;
            }
            if let (Some(stem), Some(want_stem)) = (stem.strip_suffix('i'), want.strip_suffix('y'))
            {
                return stem == want_stem;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules read the plain way: every pattern tried at every word.
    fn extract_by_scanning(concern: &str) -> Vec<&'static str> {
        let lower = concern.to_lowercase();
        let words = words(&lower);
        let contains = |phrase: &[&str]| {
            words.windows(phrase.len()).any(|window| {
                window
                    .iter()
                    .zip(phrase)
                    .all(|(word, want)| word_matches(word, want))
            })
        };
        RULES
            .iter()
            .filter(|rule| rule.patterns.iter().any(|p| contains(p)))
            .map(|rule| rule.keyword)
            .collect()
    }

    #[test]
    fn the_first_word_index_finds_what_scanning_finds() {
        let mut concerns: Vec<String> = crate::synth::intakes(400, 5)
            .into_iter()
            .map(|r| r.concern)
            .collect();
        // Every pattern as written, in plural, at the end, twice, run together with others.
        for rule in RULES {
            for pattern in rule.patterns {
                let phrase = pattern.join(" ");
                concerns.push(phrase.clone());
                concerns.push(format!("the {phrase}s and {phrase}es, again {phrase}"));
                concerns.push(format!("{}ies?", phrase.trim_end_matches('y')));
                concerns.push(format!("x-{}-y", pattern.join("/")));
            }
        }
        concerns.push("A/C and a/c/heat; brake pads, batteries".into());
        for concern in &concerns {
            assert_eq!(
                extract_keywords(concern),
                extract_by_scanning(concern),
                "{concern}"
            );
        }
    }

    #[test]
    fn spec_examples_hold() {
        assert_eq!(
            extract_keywords("My check engine light is on"),
            ["check engine light"]
        );
        let both = extract_keywords("Need brake repair and oil change");
        assert!(both.contains(&"brake repair") && both.contains(&"oil change"));
        assert!(extract_keywords("").is_empty());
        let bmw = extract_keywords("My BMW check engine light is on");
        assert!(bmw.contains(&"check engine light") && bmw.contains(&"BMW diagnostics"));
    }

    #[test]
    fn hvac_words_match_whole_words_only() {
        assert_eq!(extract_keywords("The AC blows warm"), ["HVAC diagnostic"]);
        assert_eq!(extract_keywords("my a/c is broken"), ["HVAC diagnostic"]);
        assert_eq!(extract_keywords("A/C"), ["HVAC diagnostic"]);
        assert!(extract_keywords("I want to replace the black trim").is_empty());
        assert!(extract_keywords("accent lighting, vacuum").is_empty());
    }

    #[test]
    fn cel_is_not_found_inside_cancel() {
        assert_eq!(extract_keywords("CEL came on"), ["check engine light"]);
        assert!(extract_keywords("Please cancel my booking, excellent service").is_empty());
    }

    #[test]
    fn separators_and_plurals_are_tolerated() {
        assert_eq!(
            extract_keywords("check-engine light flashing"),
            ["check engine light"]
        );
        assert_eq!(
            extract_keywords("needs engine diagnostics"),
            ["engine diagnostic"]
        );
        let pads = extract_keywords("Brake pads squeal");
        assert_eq!(pads, ["brake repair", "brake pad replacement"]);
        assert_eq!(
            extract_keywords("two dead batteries"),
            ["battery diagnostic"]
        );
        assert_eq!(
            extract_keywords("rotate my tires please"),
            ["tire rotation"]
        );
        assert_eq!(
            extract_keywords("SPARK_PLUGS worn"),
            ["spark plug replacement"]
        );
    }

    #[test]
    fn results_are_deduplicated_in_rule_order() {
        let kws = extract_keywords("oil change, then brakes, brakes, brakes; check engine light");
        assert_eq!(kws, ["check engine light", "brake repair", "oil change"]);
    }

    #[test]
    fn every_category_of_the_spec_is_reachable() {
        let cases = [
            ("ABS light on", "ABS warning"),
            ("airbag light stays on", "airbag light"),
            ("transmission slipping", "transmission diagnostic"),
            ("electrical gremlins", "electrical diagnostic"),
            ("engine misfire at idle", "engine diagnostic"),
            ("heater blows cold", "HVAC diagnostic"),
            ("car won't start", "battery diagnostic"),
            ("clunk from the suspension", "suspension repair"),
            ("steering wheel shakes", "steering repair"),
            ("loud exhaust", "exhaust repair"),
            ("engine overheating", "cooling system repair"),
            ("fuel pump whine", "fuel system repair"),
            ("tire rotation due", "tire rotation"),
            ("timing belt at 100k", "timing belt replacement"),
            ("dirty air filter", "air filter replacement"),
            ("coolant flush", "coolant flush"),
            ("transmission fluid change", "transmission fluid change"),
            ("install a backup camera", "backup camera installation"),
            ("dashcam wiring", "dashcam installation"),
            ("remote starter for winter", "remote starter installation"),
            ("new stereo", "audio installation"),
            ("GPS tracker for fleet", "GPS tracker installation"),
            ("car alarm keeps going off", "alarm installation"),
            ("Tesla screen frozen", "Tesla diagnostics"),
            ("Mercedes-Benz warning", "Mercedes diagnostics"),
            ("Audi A4", "Audi diagnostics"),
            ("Porsche Cayenne", "Porsche diagnostics"),
        ];
        for (concern, keyword) in cases {
            assert!(
                extract_keywords(concern).contains(&keyword),
                "{concern:?} should give {keyword:?}, gave {:?}",
                extract_keywords(concern)
            );
        }
        assert_eq!(canonical_keywords().count(), RULES.len());
    }

    #[test]
    fn unicode_and_hostile_text_do_not_panic() {
        assert!(extract_keywords("\u{1b}[31m🚗 ÉCLAIRAGE").is_empty());
        assert_eq!(extract_keywords("FREINS? no: BRAKES!"), ["brake repair"]);
    }
}
