"""Static files storages: WhiteNoise's compressed manifest storage, as production and ``make demo``
use it.

``collectstatic`` writes each file under a content-hashed name plus ``.gz`` and ``.br`` copies;
WhiteNoise serves the copy the browser accepts (``Accept-Encoding``), and a hashed name with
``Cache-Control: max-age=315360000, public, immutable``.
"""

from __future__ import annotations

import brotli
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

#: Brotli quality of the demo's compression: 9 is ~25 times faster than the maximum 11 on the
#: bundled API-docs JavaScript for files ~9 % larger (a few seconds at every demo start, not minutes).
DEMO_BROTLI_QUALITY = 9
#: Source maps are fetched by browser developer tools only: not worth compressing at demo start.
DEMO_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")


class CompressedManifestStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's ``CompressedManifestStaticFilesStorage`` that leaves JavaScript
    ``//# sourceMappingURL=`` comments alone: vendored minified files (``static/vendor/``, copied
    verbatim) name source maps that are not vendored, and Django's rewriting of that comment
    would make ``collectstatic`` fail on the missing map. CSS ``url()``/``@import`` references are
    still rewritten to the hashed names."""

    patterns = tuple((glob, rules) for glob, rules in ManifestStaticFilesStorage.patterns if glob != "*.js")


class HashedCompressedStaticFilesStorage(CompressedManifestStorage):
    """:class:`CompressedManifestStorage` whose ``url()`` is hashed even with ``DEBUG`` on.

    Django's manifest storage hands out the *unhashed* name while ``DEBUG`` is on, which WhiteNoise
    may only cache for ``max-age=0``; the demo (``settings/local.py`` with ``STATIC_COLLECTED=1``)
    runs with ``DEBUG`` on, so this storage always hands out the hashed name. It needs
    ``collectstatic`` first (a name missing from the manifest raises ``ValueError``), which the
    demo runner does at every start; so it compresses quicker (Brotli quality
    :data:`DEMO_BROTLI_QUALITY`, source maps left as they are).
    """

    def url(self, name, force=False):
        return super().url(name, force=True)

    def create_compressor(self, **kwargs) -> Compressor:
        return _QuickCompressor(**{**kwargs, "extensions": DEMO_SKIP_COMPRESS_EXTENSIONS})


class _QuickCompressor(Compressor):
    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        return brotli.compress(data, quality=DEMO_BROTLI_QUALITY)
