"""Router state shared through Redis (the optional extra `redis`): see `state.RedisState`."""

from router.state.redis.state import DEFAULT_LEASE_SECONDS, DEFAULT_STALENESS, RedisState

__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_STALENESS", "RedisState"]
