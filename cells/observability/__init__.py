"""Watching a cell: Prometheus metrics (`metrics`) and logs that carry each
call's request id (`logs`)."""
