"""Measurements and fault injection run by hand (and `chaos` at smoke size by the tests)."""
