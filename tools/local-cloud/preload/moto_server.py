# Starts moto's server (`python3 <this file> -H 127.0.0.1 -p PORT`, with the venv's python) after two changes to
# what moto spends per request, where S3 spends nothing; every answer is unchanged.
#
# 1. moto's ListObjectVersions deep-copies every version of every key in the bucket, bytes included, on every
# call (the copies only carry the listing's IsLatest flag): a bucket holding a 1 GiB object costs seconds of
# moto's CPU per listing, however small the prefix asked, written through a temporary file. S3's listing costs
# nothing per stored byte. The listing's copies now share the versions' bytes (read only, and never disposed
# of by a copy). The one deepcopy in moto.s3.models is that listing's.
#
# 2. moto's dispatcher finds the service of every request by listing moto's package folder (a stat of each of its
# ~150 modules, under the dispatcher's lock) and matching hundreds of URL patterns, twice for a request to
# 127.0.0.1: about a sixth of moto's CPU in the backfill bench (py-spy). The installed modules and each host's
# service never change while the server runs, so both are now looked up once.
import copy
import functools
import inspect
import sys

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
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

_list_of_moto_modules = backends.list_of_moto_modules
backends.list_of_moto_modules = functools.cache(lambda: tuple(_list_of_moto_modules()))
_backend_for_host = DomainDispatcherApplication.get_backend_for_host


def _cached_backend_for_host(self, host):
    if not hasattr(self, "_backends_by_host"):
        self._backends_by_host = {}
    if host not in self._backends_by_host:
        self._backends_by_host[host] = _backend_for_host(self, host)
    return self._backends_by_host[host]


DomainDispatcherApplication.get_backend_for_host = _cached_backend_for_host

if __name__ == "__main__":
    sys.exit(main())
