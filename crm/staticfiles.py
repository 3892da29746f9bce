"""Static files the project serves from its Python packages, and the demo's storage.

plotly.js ships inside the plotly package (next to data sets and a widget bundle the pages
never load); this finder hands collectstatic and WhiteNoise that one file, as
``vendor/plotly.min.js``, so it is hashed, gzipped and cached like every other static file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly  # type: ignore[import-untyped]
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from whitenoise.storage import (  # type: ignore[import-untyped]
    CompressedManifestStaticFilesStorage,
)

PLOTLY_JS = "vendor/plotly.min.js"


class PackagedFilesFinder(BaseFinder):
    """Finds ``vendor/plotly.min.js`` in the installed plotly package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=Path(plotly.__file__).parent / "package_data")
        self.storage.prefix = "vendor"  # type: ignore[attr-defined]  # read by collectstatic

    # Django's own finders answer "not here" with [] even when find_all is False (None would
    # end up in finders.find's list of matches); the stubs say None.
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path != PLOTLY_JS:
            return []
        found = self.storage.path("plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Any:
        yield "plotly.min.js", self.storage


class DemoStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Production's storage (hashed names, gzipped copies) for the demo, which `make run`
    collects; before collectstatic has run, pages still work with the plain names (served
    uncompressed from the apps by WhiteNoise's finders)."""

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name
