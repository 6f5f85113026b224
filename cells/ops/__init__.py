"""Running cellrouter: the CLI (`cli`, `cli_admin`), the tree runner (`tree`),
the development CA (`certs`) and a cell inside a program (`embed`)."""
