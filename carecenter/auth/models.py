"""Failed login attempts (the sessions themselves are `staff.sessions`), the token answer, and the
API clients of receiving systems."""

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import BeforeValidator, StringConstraints
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, WholeNumber, created_at_field, instant_field, not_a_boolean


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    client_addr: str = Field(max_length=64, index=True)
    at: datetime = instant_field(index=True)


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime


class ApiClient(SQLModel, table=True):
    """A receiving system (the district's health platform): reads through its own token, only the
    centers it was given, every read audited under its name. Created and revoked by an admin."""

    __tablename__ = "api_client"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    name: str = Field(max_length=24, unique=True)
    center_ids: list[int] = Field(sa_type=sa.JSON, description="The centers whose records it may read")
    token_hash: str = Field(max_length=64, unique=True)
    token_prefix: str = Field(max_length=12, description="Shown in lists to tell tokens apart")
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=32)
    revoked_at: datetime | None = instant_field(default=None)
    last_used_at: datetime | None = instant_field(default=None)


# A center's id: the constraints before the validator, so that the schema states them.
CenterId = Annotated[int, PydanticField(ge=1, le=2**31 - 1), BeforeValidator(not_a_boolean)]


class ApiClientCreate(SQLModel):
    # Letters, digits, spaces, dots and dashes, not at either end: the schema says all of it (the
    # console's form strips what was typed around the name).
    name: Annotated[str, StringConstraints(min_length=2, max_length=24, pattern=r"^[\w.-](?:[\w .-]*[\w.-])?$")]
    center_ids: list[CenterId] = Field(min_length=1, max_length=200)


class ApiClientPublic(SQLModel):
    id: WholeNumber
    name: str
    center_ids: list[int]
    token_prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiClientCreated(ApiClientPublic):
    token: str = Field(description="Shown once: give it to the receiving system; only its hash is kept")
