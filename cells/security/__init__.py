"""Who may call a cell and how much: API tokens (`auth`), what a token may see
(`scope`), the names a peer may have (`names`), and per-client limits
(`limits`). Certificates and peer identity are `cellwire.tls`."""
