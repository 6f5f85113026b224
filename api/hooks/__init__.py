"""Signed web hooks: the tree's events POSTed to subscribers, at least once,
in order per subscriber (docs/hooks.md for receivers).

    the bus (the cells' notifications: notify/)
      │  dispatcher      a durable queue shared by every API process; per
      │                  event one row per matching subscription, committed
      │                  before the ack (dispatcher, deliveries.record)
      ▼
    the deliveries outbox (API database: hook_deliveries)
      │  deliverer       each subscriber's oldest pending row, leased; POSTed
      │                  signed; retried with an exponential wait; dead after
      │                  a bound (deliverer, deliveries.claim)
      ▼
    the subscriber       verifies the signature and the timestamp (signing.verify)

    settings        [notifications] and [hooks] of the API config
    subscriptions   what a subscription may be; the hook_subscriptions table
    hub             this process's events for the dashboard's streams
    service         the tasks, started and stopped with the API's app
    routes, views   /hooks/v1/... ; cli: `cellrouter hooks ...`
    errors          the error tree
"""
