"""What the catalogue lacks: the official shapes every record is validated with."""

from __future__ import annotations

from hdab.catalog.validation import shapes_root
from hdab.core.notices import Finding
from hdab.core.settings import Settings

EDITORS = frozenset({"data_holder", "admin"})


def findings(settings: Settings) -> list[Finding]:
    root = shapes_root(settings)
    if root is not None:
        source = "HDAB_SHAPES_DIR" if root == settings.shapes_dir else "HDAB_REFERENCE_DIR"
        return [Finding("shapes", f"ok ({source})")]
    production = settings.is_production
    consequence = "records cannot be saved" if production else "records are saved without the validation"
    nb = "ingen datasett kan lagres" if production else "datasett lagres uten denne kontrollen"
    en = "no dataset can be saved" if production else "datasets are saved without this check"
    return [
        Finding(
            "shapes",
            "missing",
            detail="the official DCAT-AP and HealthDCAT-AP shapes are not installed in HDAB_SHAPES_DIR:"
            f" {consequence}; run `hdab catalog fetch-shapes` (needs the internet) or set HDAB_SHAPES_DIR"
            " to a folder that holds them",
            banner={
                "nb": f"De offisielle DCAT-AP- og HealthDCAT-AP-reglene (SHACL) er ikke installert, så {nb}."
                " En driftsansvarlig installerer dem med «hdab catalog fetch-shapes».",
                "en": f"The official DCAT-AP and HealthDCAT-AP rules (SHACL) are not installed, so {en}."
                " An operator installs them with “hdab catalog fetch-shapes”.",
            },
            roles=EDITORS,
            blocks_production=True,
        )
    ]
