//! Issued certificates (Ed25519-signed, verifiable, revocable) and the credit bank ledger.
