"""Identity: users, signing keys and tokens (a Keystone v3 subset)."""
