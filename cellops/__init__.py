"""Operating cellrouter: the CLI (`cli`, `cli_admin`), the tree runner
(`tree`) with its supervision and process starters, and the development CA
(`certs`). The top room: it may import every other, and none imports it but
the tests."""
