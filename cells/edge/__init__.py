"""The gRPC edge of a cell: servicers (`servicers`, the one place for hop
limits, request ids and status codes), errors to status codes (`status`), the
protobuf translation (`wire`), and the server interceptors (`decoding`,
`interceptors`)."""
