"""``hdab reception ...`` (keys, submitters, compaction) and ``hdab report send`` (the conformance kit)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from hdab.core import audit, runtime

group = click.Group(
    "reception", help="Reception of daily reports: the receiver's keys, submitters, compaction."
)
report = click.Group("report", help="The sender's side, for EPJ vendors: send or test messages.")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"hdab: {message}", err=True)
    sys.exit(code)


@group.command("rotate-keys")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="validity (default HDAB_RECEPTION_KEY_DAYS)"
)
def rotate_keys(days: int | None) -> None:
    """Add a receiver key expiring after the others; drop expired ones (the others decrypt until expiry)."""
    from hdab.reception import keys

    settings = runtime.settings()
    assert settings.reception_key_file is not None
    fresh = keys.rotate(settings.reception_key_file, days or settings.reception_key_days)
    with runtime.database().session() as session:
        audit.record(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="reception.key.rotated",
            object_type="reception_key",
            object_id=fresh.id,
            details={"expires": fresh.expires.isoformat()},
        )
    click.echo(f"new key {fresh.id}, expires {fresh.expires.isoformat()}, in {settings.reception_key_file}")


@group.command("import-submitters")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_submitters(path: Path) -> None:
    """Import the register of submitters from a CSV (organisation,name,kind,category,message_types)."""
    from hdab.reception import submitters

    try:
        with runtime.database().session() as session:
            result = submitters.import_csv(session, audit.SYSTEM_ACTOR, path.read_text(encoding="utf-8"))
    except submitters.ImportRefused as exc:
        _fail(f"{exc}\n" + "\n".join(f"  line {p.line}: {p.message}" for p in exc.problems[:20]))
    click.echo(f"{result.rows} submitters: {result.units} reporting units, {result.vendors} vendors")


@group.command("compact")
def compact() -> None:
    """Move received record versions into the registry's Parquet now (the scheduler does it every minute)."""
    from hdab.reception import compaction, crypto

    settings = runtime.settings()
    assert settings.registry_dir is not None
    done = compaction.compact(
        runtime.database(), settings.registry_dir, crypto.storage_key(settings.reception_storage_key)
    )
    for result in done:
        click.echo(
            f"{result.dataset}: {result.messages} messages, {result.versions} versions,"
            f" {result.tombstones} deletions held, through {result.through.isoformat()}"
        )
    if not done:
        click.echo("nothing to compact")


@report.command("send")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="the receiver's base URL, e.g. https://hdab.example.no")
@click.option("--type", "message_type", required=True, help="message type, e.g. npr-basismelding")
@click.option("--version", "message_version", required=True, help="message version, e.g. 1")
@click.option(
    "--sequence", type=click.IntRange(1), required=True, help="this message's number in the unit's series"
)
@click.option(
    "--extraction-date", type=click.DateTime(["%Y-%m-%d"]), required=True, help="when the EPJ extracted it"
)
@click.option("--token-endpoint", required=True, help="HelseID's token endpoint")
@click.option("--client-id", required=True)
@click.option(
    "--client-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="private JWK (EC P-256) of the client",
)
@click.option(
    "--dpop-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="private JWK for DPoP (default: the client key)",
)
@click.option("--scope", default="nhn:hdab/reception", show_default=True)
@click.option("--vendor", required=True)
@click.option("--software", required=True)
@click.option("--software-version", required=True)
@click.option("--export-version", required=True)
@click.option("--test", "dry_run", is_flag=True, help="check the message at /validate: nothing is stored")
def send(
    payload: Path,
    url: str,
    message_type: str,
    message_version: str,
    sequence: int,
    extraction_date: object,
    token_endpoint: str,
    client_id: str,
    client_key: Path,
    dpop_key: Path | None,
    scope: str,
    vendor: str,
    software: str,
    software_version: str,
    export_version: str,
    dry_run: bool,
) -> None:
    """Send one message (a JSON array file) as an EPJ would and print the receipt; exit 0 only if accepted."""
    import httpx
    from joserfc.jwk import ECKey

    from hdab.reception.client import HelseIdToken, Outgoing, Sender, Software

    text = payload.read_bytes()
    try:
        if not isinstance(json.loads(text), list):
            _fail("the payload must be a JSON array of records")
    except ValueError:
        _fail("the payload is not JSON")
    key = ECKey.import_key(json.loads(client_key.read_text(encoding="utf-8")))
    bound = ECKey.import_key(json.loads(dpop_key.read_text(encoding="utf-8"))) if dpop_key else key
    assert hasattr(extraction_date, "date")
    day: date = extraction_date.date()
    with httpx.Client(timeout=60) as http:
        token = HelseIdToken(token_endpoint, client_id, key, scope, bound, http=http)
        sender = Sender(http, url, token, bound, Software(vendor, software, software_version, export_version))
        outcome = sender.send(Outgoing(text, message_type, message_version, sequence, day), dry_run=dry_run)
    click.echo(
        json.dumps(
            {"status": outcome.status, "correlationId": outcome.correlation_id, **outcome.receipt}, indent=2
        )
    )
    accepted = outcome.status == 200 and (dry_run or outcome.delivered)
    sys.exit(0 if accepted else 1)


groups = [group, report]
