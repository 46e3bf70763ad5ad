"""Secrets the bad-input tests feed in, that no captured output of any test may hold.

tests/conftest.py fails a test whose captured stdout, stderr or log holds one of them (issue 12:
"a test greps all captured output for the token")."""

TOKEN = "canary-token-7f3a9c1e5b"
PASSWORD = "canary-password-41d8"
ALL = (TOKEN, PASSWORD)
