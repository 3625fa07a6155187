"""Typed FastAPI dependencies: the shared clients live on app.state, built in the lifespan.

`async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread, which cost
about a tenth of the API's CPU per request in a profile of POST /api/orders."""

from typing import Annotated

from fastapi import Depends, Request

from app.core.settings import Settings
from app.store.cache import Cache
from app.store.db import Database
from app.store.routing import Shards


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_shards(request: Request) -> Shards:
    shards: Shards = request.app.state.shards
    return shards


async def get_cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
"""The home shard: the catalogue and the sign-in directory."""
ShardsDep = Annotated[Shards, Depends(get_shards)]
"""Every shard; customer data through `for_customer`."""
CacheDep = Annotated[Cache, Depends(get_cache)]
