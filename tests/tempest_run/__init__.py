"""Tempest, OpenStack's own integration suite, run against the API (`make tempest`)."""
