"""Where media is kept (CARECENTER_MEDIA_*)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MediaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    media_dir: str = Field(default="media", description="Photos and signatures on disk (when no bucket is set)")
    media_s3_bucket: str | None = Field(default=None, description="Keep media in this S3-compatible bucket instead")
    media_s3_endpoint_url: str | None = Field(default=None, description="The object store's URL (MinIO, OSS, COS …)")
    media_s3_region: str | None = None
    media_s3_prefix: str = Field(default="carecenter/", description="Keys start with this")
    media_max_bytes: int = Field(default=8_000_000, ge=100_000, description="Larger uploads are refused")
