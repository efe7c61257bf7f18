"""Dependencies shared by the routers (FastAPI ``Annotated`` aliases)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security import authenticate
from api.settings import Settings, TokenGrant
from kb.knowledge import Knowledge, load_knowledge
from kb.repository import Repository


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def get_knowledge() -> Knowledge:
    return load_knowledge()


def get_repository(request: Request) -> Repository:
    repository = getattr(request.app.state, "repository", None)
    if repository is None:
        raise RuntimeError("the store is not open")
    assert isinstance(repository, Repository)
    return repository


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
RepositoryDep = Annotated[Repository, Depends(get_repository)]


# Declares the bearer scheme in the OpenAPI document; the check itself is authenticate().
_bearer = HTTPBearer(auto_error=False, description="A token with the read or write scope")
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _reader(request: Request, settings: SettingsDep, _: BearerDoc) -> TokenGrant:
    return authenticate(request, settings, "read")


def _writer(request: Request, settings: SettingsDep, _: BearerDoc) -> TokenGrant:
    return authenticate(request, settings, "write")


ReadAccess = Annotated[TokenGrant, Depends(_reader)]
WriteAccess = Annotated[TokenGrant, Depends(_writer)]
