//! "Did you mean …": the known name closest to a mistyped one.
//!
//! Jaro–Winkler similarity (from strsim, as clap uses for subcommands)
//! rewards a shared prefix, which is how names in a registry differ from
//! their typos (`bc-clasifier` → `bc-classifier`, `prod` → `production`).

/// Below this similarity a candidate is not worth suggesting.
const THRESHOLD: f64 = 0.8;

/// The candidate most similar to `input`, if any is similar enough.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = input.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != input)
        .map(|c| (strsim::jaro_winkler(&lowered, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `did you mean `x`?`, or None when nothing is close.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_close_name_and_nothing_far() {
        let models = ["bc-classifier", "churn", "fraud-detector"];
        assert_eq!(closest("bc-clasifier", models), Some("bc-classifier"));
        assert_eq!(closest("Churn", models), Some("churn"));
        assert_eq!(closest("churn2", models), Some("churn"));
        assert_eq!(closest("zzz", models), None);
        assert_eq!(
            closest("prod", ["staging", "production"]),
            Some("production")
        );
        assert_eq!(closest("x", Vec::<&str>::new()), None);
    }
}
