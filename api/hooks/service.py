"""Web hooks in the API process: the stores, and the dispatcher's and the
deliverer's tasks, started with the app and stopped with it.

With notifications off (no [notifications] in the API config, or enabled =
false) neither task runs: subscriptions can still be managed, nothing is
delivered, and the dashboard polls. With them on and the bus down, the
dispatcher keeps trying (api.hooks.dispatcher) and the API serves as ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import Engine

from api.config import ApiConfig
from api.hooks.deliverer import Deliverer
from api.hooks.deliveries import DeliveryStore
from api.hooks.dispatcher import Dispatcher
from api.hooks.hub import EventHub
from api.hooks.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Hooks:
    config: ApiConfig
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    hub: EventHub = field(default_factory=EventHub)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def of(cls, config: ApiConfig, engine: Engine) -> Hooks:
        return cls(config, SubscriptionStore(engine), DeliveryStore(engine, config.hooks))

    @property
    def enabled(self) -> bool:
        return self.config.notifications.enabled


HOOKS = web.AppKey("cellrouter_hooks", Hooks)


def setup(app: web.Application, config: ApiConfig, engine: Engine) -> None:
    """Keep the hooks on `app`; start their tasks with it when notifications are on."""
    app[HOOKS] = Hooks.of(config, engine)
    app.on_shutdown.append(_end_streams)
    if app[HOOKS].enabled:
        app.on_startup.append(_start)
        app.on_cleanup.append(_stop)
    else:
        log.info("notifications: off (no [notifications] enabled in the API config): web hooks are"
                 " not delivered and the dashboard polls")


async def _start(app: web.Application) -> None:
    hooks = app[HOOKS]
    deliverer = Deliverer(hooks.deliveries, hooks.config.hooks)
    dispatcher = Dispatcher(hooks.config.notifications, hooks.config.hooks, hooks.deliveries,
                            hooks.hub, deliverer.wake)
    loop = asyncio.get_running_loop()
    hooks.tasks += [loop.create_task(dispatcher.run(), name="hooks-dispatcher"),
                    loop.create_task(deliverer.run(), name="hooks-deliverer")]


async def _end_streams(app: web.Application) -> None:
    app[HOOKS].hub.close()


async def _stop(app: web.Application) -> None:
    tasks, app[HOOKS].tasks = app[HOOKS].tasks, []
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except Exception:  # it ended on its own: say how, and go on stopping
                log.exception("web hooks: task %s had failed", task.get_name())
