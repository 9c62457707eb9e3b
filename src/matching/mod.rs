//! Matching (SPEC §3): keyword extraction, eligibility, scoring and ranking. Pure — no I/O and no
//! clock — so every row of the scoring table is tested without a database.

mod keywords;
mod score;
#[cfg(test)]
mod tests;

pub use keywords::{canonical_index, canonical_keywords, extract_keywords};
pub use score::{
    Candidate, Criteria, CriteriaInput, EXCLUDED_LISTED, Match, Ranking, Reason, ScoredReason,
    compare, eligible_in_order, exclusion, is_eligible, rank, score,
};
