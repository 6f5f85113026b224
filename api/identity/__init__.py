"""Identity: users, projects, role assignments, signing keys and tokens (a Keystone v3 subset)."""
