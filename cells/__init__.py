"""Running a cell: the composition root (`server`), the router shell over
`routing/` (`router`), the leaf (`leaf`, with its parts in `leaf_*`, mapped
in its docstring), membership upward (`uplink`), the links to other cells
(`links`) and a cell inside a program (`embed`); the gRPC edge (`edge/`),
security (`security/`) and observability (`observability/`). The clients,
the wire conversions and TLS credentials are `cellwire/`; operating a tree
is `cellops/`."""
