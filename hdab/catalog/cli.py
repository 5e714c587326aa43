"""`hdab catalog ...`: seed, import, validate and fetch the official shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hdab.core import audit, runtime

# Each command imports what it needs when it runs, so that `hdab --help` and the other commands
# start without loading rdflib, the shapes and the search engine (which would triple start-up time).
group = click.Group("catalog", help="The HealthDCAT-AP catalogue.")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"hdab: {message}", err=True)
    sys.exit(code)


@group.command("seed")
def seed() -> None:
    """Load the NPR and KPR datasets (again: changes nothing)."""
    from hdab.catalog import service
    from hdab.core.errors import ProblemError

    settings = runtime.settings()
    try:
        with runtime.database().session() as session:
            results = service.seed(session, settings, audit.SYSTEM_ACTOR)
    except ProblemError as exc:
        _fail(f"seed refused: {exc.detail}" + "".join(f"\n  {e.field}: {e.message}" for e in exc.errors))
    for result in results:
        click.echo(f"{result.identifier}: {result.outcome.value} (version {result.version})")


@group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ttl", "jsonld", "rdf", "nt"]),
    default=None,
    help="RDF format (default: from the file extension)",
)
def import_file(path: Path, fmt: str | None) -> None:
    """Import DCAT-AP / HealthDCAT-AP RDF from PATH: every dataset or none."""
    from hdab.catalog import service
    from hdab.catalog.ownership import Writer
    from hdab.catalog.rdf.formats import BY_KEY
    from hdab.catalog.rdf.safe_parse import parse_rdf
    from hdab.core.errors import ProblemError

    settings = runtime.settings()
    extension = {"ttl": "ttl", "jsonld": "jsonld", "json": "jsonld", "rdf": "rdf", "xml": "rdf", "nt": "nt"}
    key = fmt or extension.get(path.suffix.lstrip(".").lower())
    if key is None:
        _fail(f"cannot tell the RDF format of {path.name}; say --format", 2)
    assert key is not None
    try:
        graph = parse_rdf(
            path.read_bytes(),
            BY_KEY[key],
            max_bytes=settings.import_max_bytes,
            max_triples=settings.import_max_triples,
        )
        with runtime.database().session() as session:
            # the system: every publisher
            results = service.import_graph(session, settings, Writer.system(), graph, "imported")
    except ProblemError as exc:
        _fail(
            f"import refused, nothing stored: {exc.detail}"
            + "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
        )
    for result in results:
        click.echo(f"{result.identifier}: {result.outcome.value} (version {result.version})")


@group.command("fetch-shapes")
@click.option("--mirror", default=None, help="fetch from this base URL, laid out like the reference folder")
@click.option(
    "--accept-unconfirmed",
    is_flag=True,
    help="take files whose pinned checksum was never confirmed against the official source",
)
def fetch_shapes_command(mirror: str | None, accept_unconfirmed: bool) -> None:
    """Install the official SHACL shapes and vocabularies into HDAB_SHAPES_DIR."""
    from hdab.catalog.shapes_fetch import FetchError, fetch_shapes

    settings = runtime.settings()
    assert settings.shapes_dir is not None
    try:
        lock = fetch_shapes(settings.shapes_dir, mirror=mirror, accept_unconfirmed=accept_unconfirmed)
    except FetchError as exc:
        _fail(f"fetch-shapes failed, nothing installed: {exc}")
    click.echo(f"installed {len(lock)} files into {settings.shapes_dir}")


@group.command("prepare", hidden=True)
def prepare() -> None:
    """What `hdab run` does for the catalogue: install the shapes if missing (best effort), then seed."""
    import httpx

    from hdab.catalog.shapes_fetch import FetchError, fetch_shapes
    from hdab.catalog.validation import shapes_root

    settings = runtime.settings()
    if shapes_root(settings) is None and not settings.is_production:
        assert settings.shapes_dir is not None
        try:
            # A short connect timeout: an offline machine learns it at once, not after minutes.
            with httpx.Client(timeout=httpx.Timeout(30, connect=5), follow_redirects=True) as http:
                fetch_shapes(settings.shapes_dir, accept_unconfirmed=True, client=http)
            click.echo(f"installed the official shapes into {settings.shapes_dir}", err=True)
        except FetchError as exc:
            click.echo(
                f"hdab: warning: the official shapes could not be installed ({exc}). Datasets are saved"
                " WITHOUT the DCAT-AP / HealthDCAT-AP validation until they are: run"
                " `hdab catalog fetch-shapes` when online, or set HDAB_SHAPES_DIR to a copy."
                " /readyz and the home page (for data holders and admins) say so meanwhile.",
                err=True,
            )
    click.get_current_context().invoke(seed)


search_group = click.Group("search", help="The catalogue's search index.")


@search_group.command("reindex")
def reindex() -> None:
    """Rebuild the search index from the catalogue (OpenSearch: a new index, then an alias swap)."""
    from hdab.catalog.search import backend, sync

    count = sync.rebuild(runtime.database())
    click.echo(f"indexed {count} datasets ({backend().name})")


groups = [group, search_group]
