"""The gRPC edge of a cell: servicers (`servicers`, the one place for hop
limits, request ids, per-client limits and status codes; routed calls as
bytes), errors to status codes (`status`), malformed requests refused
(`decoding`), and the interceptor shape the metrics use (`interceptors`).
The protobuf translation is `cellwire.wire`."""
