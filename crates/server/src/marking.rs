//! Manual grading (marking) of essay and practical items: grader assignments, blind marking, double marking.
