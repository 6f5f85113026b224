"""The Compute API v2.1 subset: versions, servers and their actions, flavors."""
