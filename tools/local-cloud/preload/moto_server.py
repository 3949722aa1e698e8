# Starts moto's server (`python3 <this file> -H 127.0.0.1 -p PORT`, with the venv's python) after one change.
#
# moto's ListObjectVersions deep-copies every version of every key in the bucket, bytes included, on every
# call (the copies only carry the listing's IsLatest flag): a bucket holding a 1 GiB object costs seconds of
# moto's CPU per listing, however small the prefix asked, written through a temporary file. S3's listing costs
# nothing per stored byte. The listing's copies now share the versions' bytes (read only, and never disposed
# of by a copy); every answer is unchanged. The one deepcopy in moto.s3.models is that listing's.
import copy
import inspect
import sys

from moto.s3 import models
from moto.server import main


_LISTING_CLASSES = {}


def _listing_class(cls):
    """`cls` whose instances never dispose of what they share: a key disposes of its buffer when collected."""
    if cls not in _LISTING_CLASSES:
        _LISTING_CLASSES[cls] = type(cls.__name__, (cls,), {"dispose": lambda self, garbage=False: None, "__del__": lambda self: None})
    return _LISTING_CLASSES[cls]


def _listing_copy(version):
    clone = object.__new__(_listing_class(type(version)))
    clone.__dict__.update(version.__dict__)
    return clone


class _ListingCopies:
    """moto.s3.models' `copy` module, whose deepcopy (of one key's list of versions) leaves the bytes shared."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(versions):
        return [_listing_copy(version) for version in versions]


# The pinned moto's listing, as this patch expects it: anything else fails loudly instead of being patched blind.
if "copy.deepcopy(version_key)" not in inspect.getsource(models.S3Backend.list_object_versions):
    raise SystemExit("moto_server.py: moto's ListObjectVersions changed; review this patch for the new version")
models.copy = _ListingCopies

if __name__ == "__main__":
    sys.exit(main())
