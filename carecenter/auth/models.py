"""Failed login attempts (the sessions themselves are `staff.sessions`) and the token answer."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, instant_field


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
