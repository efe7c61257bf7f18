"""Dependencies shared by the routers."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends

from api.settings import Settings
from kb.knowledge import Knowledge, load_knowledge


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def get_knowledge() -> Knowledge:
    return load_knowledge()


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
