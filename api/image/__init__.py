"""The Image API v2 subset: the images a deployment declares, read-only."""
