"""Audit events: who did what to which record, when and from where. Append-only."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, WholeNumber, created_at_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id", index=True)
    actor_username: str = Field(max_length=32)
    action: str = Field(max_length=40, index=True)
    entity_type: str = Field(max_length=40)
    entity_id: OptionalWholeNumber = None
    center_id: OptionalWholeNumber = Field(default=None, index=True)
    client_addr: str | None = Field(default=None, max_length=64)
    changed_fields: str = Field(default="", max_length=1000, description="Names only, never values")
    reason: str | None = Field(default=None, max_length=300, description="Why, where a change needs one")


class AuditEventPublic(SQLModel):
    id: WholeNumber
    at: datetime
    actor_id: OptionalWholeNumber
    actor_username: str
    action: str
    entity_type: str
    entity_id: OptionalWholeNumber
    center_id: OptionalWholeNumber
    client_addr: str | None
    changed_fields: str
    reason: str | None
