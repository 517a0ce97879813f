//! Results: totals, pass/fail, ranking, the bottom-10% retake rule and publication.
