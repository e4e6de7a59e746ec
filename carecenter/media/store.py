"""Content-addressed storage: a blob's key is the SHA-256 of its bytes, so the same photo sent
twice (a replayed upload) is stored once. On disk under CARECENTER_MEDIA_DIR (two levels of
folders by the hash), or in an S3-compatible bucket through boto3."""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from carecenter.media.settings import MediaSettings


class MediaStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a media key: {key!r}")
    return key


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        path = self._path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as part:  # whole or not at all
                part.write(data)
            os.replace(part.name, path)
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        if self.root.is_dir():
            yield from (p.name for p in self.root.glob("??/??/*") if len(p.name) == 64)


class S3Store:
    """A bucket of an S3-compatible store; credentials come the way boto3 finds them (the
    AWS_* environment variables, a profile, an instance role)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, data: bytes) -> str:
        key = content_key(data)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)
        return key

    def get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(key))["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + _checked(key))

    def keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]


def make_store(settings: MediaSettings) -> MediaStore:
    if settings.media_s3_bucket:
        import boto3  # type: ignore[import-untyped]  # only a district with object storage needs it loaded

        client = boto3.client("s3", endpoint_url=settings.media_s3_endpoint_url, region_name=settings.media_s3_region)
        return S3Store(client, settings.media_s3_bucket, settings.media_s3_prefix)
    return DiskStore(Path(settings.media_dir))
