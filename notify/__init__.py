"""Notifications: what happens in the tree, told to other systems.

The room keeps three things apart, as oslo.messaging's notifier does:

    notify.events     the contract: event types (Nova's where Nova has the
                      event) and their versioned payloads
    notify.envelope   the message on the wire: oslo.messaging's envelope
    notify.outbox     the outbox table of a cell's database: each event is
                      written in the transaction of the change it tells of
    notify.amqp       a sender per cell: drains the outbox, in order, to an
                      AMQP exchange, each row deleted once the broker confirms
    notify.config     the [notifications] table of a cell's config

What each cell sends (the cells/ modules that write them):

    a leaf     instance.*, host.down/up           cells.leaf_notify
               service_object.bound/moved/delete  cells.object_notify
    a router   cell.down/up, of its children      cells.router_notify

Events leave from the cell where they happen, not up the tree. The leaf is
where a change commits, so the outbox row can share its transaction; sending
from there needs no second hop, no second store, and no router on the way
that could drop, reorder or hold the events of the leaves below it while it
is down or restarting. One leaf holds an instance (and a service object), so
draining one outbox in order keeps each one's events in order without any
coordination. A router sends from its own outbox, in its own database, for
the same reason turned around: whether a child is up is the router's view
(`routing.children`, by the child's reports), held nowhere else, and a leaf
that is down cannot tell of itself. A router finds its children's liveness
every report interval; the first look after start only remembers, so a
restart tells of changes, not of the state it found. A region that wants one
bus points every cell's [notifications] url at it (`cellrouter up` gives
every cell, and the tree's API, the tree file's table); a cell far from the
bus keeps serving while its outbox fills (within its bound), and catches up
when the bus is back.

The message on the wire (AMQP, by default the topic exchange `nova`, not
durable, routing key `versioned_notifications.info`, persistent messages,
content type application/json), exactly as Nova's versioned notifications:

    {"oslo.version": "2.0",
     "oslo.message": "<the JSON text of:>
        {"message_id": "<uuid4>",               a consumer dedupes on it
         "publisher_id": "cellrouter-leaf:<cell path>",   a router's cellrouter-router:...
         "event_type": "instance.pause.end",
         "priority": "INFO",
         "timestamp": "2026-12-04 10:00:00.000000",   UTC, when the change committed
         "payload": {"nova_object.name": "InstanceActionPayload",
                     "nova_object.namespace": "cellrouter",
                     "nova_object.version": "1.0",
                     "nova_object.data": {...}}}"}

`notify/schemas/notification.json` is the JSON schema of the inner message
(the parsed "oslo.message"); consumers validate against it. The AMQP
message's own message_id property is the same uuid.

Delivery is at least once: a row leaves the outbox only after the broker
confirmed its message, so a sender that dies between the confirm and the
delete sends it again after restart. Consumers dedupe by `message_id`.
Within one cell (so per instance, per service object, per child of a
router) messages go out in the order their changes committed; across cells
there is no order.
"""
