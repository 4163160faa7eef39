"""Persisted (trusted) GraphQL operations: the allowlist, by SHA-256 of the document."""
