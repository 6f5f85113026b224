"""Who may call a cell and how much: mutual TLS between cells (`tls`), API tokens
(`auth`), what a token may see (`scope`), and per-client limits (`limits`)."""
