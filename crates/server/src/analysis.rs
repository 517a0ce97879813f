//! Item analysis after publication: facility, discrimination, distractors, flags, score histogram.
