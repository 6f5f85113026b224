"""The API database as the app holds it: one engine, a store per table group."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from api.db.aggregates import AggregateStore
from api.db.flavors import FlavorStore
from api.db.keypairs import KeypairStore, ServerKeys
from api.db.quotas import QuotaStore
from api.db.schema import open_api_database
from api.db.server_groups import ServerGroupStore


@dataclass(frozen=True, slots=True)
class ApiDatabase:
    engine: Engine
    keypairs: KeypairStore
    server_keys: ServerKeys
    flavors: FlavorStore
    quotas: QuotaStore
    aggregates: AggregateStore
    server_groups: ServerGroupStore

    @classmethod
    def open(cls, url: str) -> ApiDatabase:
        """Open (create, upgrade) the database at `url`; DatabaseUnavailable."""
        engine = open_api_database(url)
        return cls(engine, KeypairStore(engine), ServerKeys(engine), FlavorStore(engine),
                   QuotaStore(engine), AggregateStore(engine), ServerGroupStore(engine))

    def close(self) -> None:
        self.engine.dispose()
