//! Storage of teachers (the proctor pool of each exam site), their availability, and proctor draws.
