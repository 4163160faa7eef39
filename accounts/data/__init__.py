"""Data files shipped with the accounts app (see build_common_passwords.py)."""
