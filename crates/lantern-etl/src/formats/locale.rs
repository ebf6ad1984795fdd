//! `load.locale`: how a dataset's numbers and ambiguous dates are written, by language and region.

/// The decimal separator of a column's numbers; the other separators group thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimal {
    /// `1,234.56`, `1 234.56`, `1'234.56`.
    Point,
    /// `1.234,56`, `1 234,56`.
    Comma,
}

/// The order of day and month in a date written with `.`, `/` or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// `31.12.2025`, `31/12/2025`.
    DayFirst,
    /// `12/31/2025`.
    MonthFirst,
    /// `2025/12/31`: read by plain inference already.
    YearFirst,
}

/// A dataset's `load.locale` (`de-DE`, `fr`, `en_US`): how its numbers and ambiguous dates are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    pub tag: String,
    pub decimal: Decimal,
    pub dates: DateOrder,
}

/// Languages that write a decimal comma (CLDR), before the regional exceptions in [`Locale::parse`].
const COMMA_LANGUAGES: &[&str] = &[
    "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fo", "fr",
    "gl", "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv", "mk", "mn", "nb", "nl",
    "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk", "uz", "vi",
];

/// Regions whose ambiguous dates are month-first (`en` alone is too), and languages whose are year-first.
const MONTH_FIRST: &[&str] = &["en-us", "en-ph", "es-us"];
const YEAR_FIRST: &[&str] = &["ja", "ko", "zh", "hu", "lt", "mn"];

/// Languages that write a decimal point (the rest of those Lantern knows about).
const POINT_LANGUAGES: &[&str] = &[
    "am", "ar", "bn", "en", "fa", "fil", "ga", "gu", "he", "hi", "ja", "kn", "ko", "ml", "mr",
    "ms", "my", "ne", "pa", "si", "sw", "ta", "te", "th", "tl", "ur", "zh", "zu",
];

impl Locale {
    /// A BCP 47 tag: `language`, `language-REGION` or `language-Script-REGION` (`_` also separates them; a
    /// script such as `Hant` or `Latn` does not change how numbers are written). An unknown language is an error
    /// that lists the form expected.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let norm = tag.trim().replace('_', "-").to_ascii_lowercase();
        let mut subtags: Vec<&str> = norm.split('-').collect();
        let language = subtags.remove(0);
        let is_script = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_lowercase());
        if subtags.first().is_some_and(|s| is_script(s)) {
            subtags.remove(0);
        }
        let region = subtags.first().copied();
        if !(2..=3).contains(&language.len())
            || !language.bytes().all(|b| b.is_ascii_lowercase())
            || subtags.iter().any(|s| {
                s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        {
            return Err(format!(
                "`{tag}` is not a locale; write a language and region such as `de-DE`, `fr-FR` or `en-US`"
            ));
        }
        let comma = COMMA_LANGUAGES.contains(&language);
        if !comma && !POINT_LANGUAGES.contains(&language) {
            return Err(format!(
                "`{tag}`: the language `{language}` is not known; use e.g. `de-DE`, `fr-FR`, `en-US`, or set the \
                 columns' `load.formats` instead"
            ));
        }
        // Regions whose numbers differ from their language's: Swiss German and Italian, Mexican and US
        // Spanish write a point; South African English a comma.
        let decimal = match (language, region) {
            ("de" | "it", Some("ch" | "li")) | ("es", Some("mx" | "us" | "pr")) => Decimal::Point,
            ("en", Some("za")) => Decimal::Comma,
            _ if comma => Decimal::Comma,
            _ => Decimal::Point,
        };
        let pair = match region {
            Some(r) => format!("{language}-{r}"),
            None => language.to_string(),
        };
        let dates =
            if MONTH_FIRST.contains(&pair.as_str()) || (language == "en" && region.is_none()) {
                DateOrder::MonthFirst
            } else if YEAR_FIRST.contains(&language) || pair == "en-ca" || language == "sv" {
                DateOrder::YearFirst
            } else {
                DateOrder::DayFirst
            };
        Ok(Self {
            tag: tag.trim().to_string(),
            decimal,
            dates,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Locale::parse(&s).map_err(serde::de::Error::custom)
    }
}
