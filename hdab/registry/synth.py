"""A synthetic NPR and KPR-KUHR for one year, for development, tests and benchmarks (``hdab synth``).

One synthetic population (Tenor-style person numbers: month + 80, so none can be a real person's;
some D-numbers, day + 40; control digits valid) with NPR somatic episodes (outpatient contacts,
admissions, referral and waiting-time dates, ICD-10 conditions, NCSP/NCMP procedures, DRG) and
KUHR claims (ICPC-2 diagnoses, fee codes). Volumes per patient follow the seed's figures: at
2.8 million patients one year has about 14.5 million outpatient contacts, 1 million admissions
and 3.5 million referrals. Code frequencies are skewed as real ones are (a few codes are most
of the records). Each source table has one row per record version: ``recorded_at`` says when the
registry learned that version, and about 2 % of records get a later correction as version 2.

The rows go in through the registry's append API (``registry.append``): one part per day the
registry learned them, ``{dataset}/recorded_date=YYYY-MM-DD/part-synth-{year}.parquet``, as the
reception of daily reports appends its own; a second run for the same year replaces its parts.
Everything is drawn from one seeded generator: the same arguments give the same files. Beside them,
at the root of the folder, ``PROVENANCE.json`` says the data are synthetic and how they were made
(generator, seed, patients, year, datasets, when) and lists the files it wrote (``files``: path
relative to the folder -> bytes and SHA-256): every delivery made from them copies it, and the pages
that show a delivery say "not real patients". Once the folder's Parquet files are no longer exactly
those (real data loaded over them, another dataset added), it vouches for nothing
(``provenance.read_provenance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hdab import __version__
from hdab.core import clock
from hdab.core.files import sha256_file
from hdab.registry.append import append, remove_parts
from hdab.registry.provenance import write_provenance

OUTPATIENT_PER_PATIENT = 14.5 / 2.8
ADMISSIONS_PER_PATIENT = 1.0 / 2.8
REFERRALS_PER_PATIENT = 3.5 / 2.8
CLAIMS_PER_PERSON = 4.0
CORRECTION_SHARE = 0.02

NPR_TABLE = "npr-somatikk"
KPR_TABLE = "kpr-kuhr"

# (code, relative frequency): the head of the distribution, Zipf-like
ICD10 = [
    ("Z09.8", 90), ("I10", 60), ("M54.5", 55), ("J18.9", 40), ("I48", 38), ("E11.9", 36), ("M17.1", 34),
    ("C50.9", 30), ("I21.9", 28), ("S72.0", 26), ("K80.2", 25), ("N39.0", 24), ("J44.1", 22), ("R07.4", 22),
    ("M16.1", 20), ("C61", 19), ("I50.9", 18), ("H25.1", 18), ("K35.8", 16), ("S52.5", 15), ("O80", 15),
    ("G40.9", 14), ("F32.9", 13), ("C34.9", 12), ("I63.9", 12), ("K57.3", 11), ("L40.0", 10), ("D50.9", 10),
    ("S06.0", 9), ("Z51.1", 9), ("R10.4", 9), ("E66.9", 8), ("J45.9", 8), ("K21.9", 8), ("M81.9", 7),
    ("N18.3", 7), ("C18.9", 7), ("S82.6", 6), ("T84.0", 6), ("G35", 5), ("H40.1", 5), ("B34.9", 5),
]  # fmt: skip
PROCEDURES = [
    ("", 600), ("NFB40", 30), ("NGB20", 25), ("JKA21", 22), ("FPE26", 20), ("CJE20", 18), ("ZXA10", 18),
    ("AAF00", 15), ("UJD02", 15), ("WBGM99", 14), ("LCD10", 12), ("JAB30", 12), ("NHA09", 10),
    ("QDB10", 10), ("FNG05", 9), ("TJA35", 8), ("UGC12", 8), ("WLGX10", 7), ("AFA00", 6),
]  # fmt: skip
ICPC2 = [
    ("A04", 40), ("R74", 38), ("K86", 34), ("L03", 30), ("P76", 28), ("T90", 26), ("R05", 24), ("L86", 22),
    ("A98", 20), ("P74", 18), ("R78", 16), ("U71", 15), ("L84", 14), ("K74", 12), ("S88", 11), ("D73", 10),
    ("L92", 10), ("N01", 9), ("F70", 8), ("Y06", 6), ("W11", 6), ("X11", 5), ("Z12", 5), ("A97", 5),
]  # fmt: skip
FEE_CODES = [
    ("2ad", 60),
    ("2cd", 30),
    ("2ak", 10),
    ("11ad", 8),
    ("A2a", 8),
    ("1ad", 6),
    ("2dd", 5),
    ("701a", 4),
]
SERVICE_TYPES = [
    ("fastlege", 70),
    ("legevakt", 12),
    ("fysioterapeut", 10),
    ("kiropraktor", 4),
    ("tannlege", 4),
]
MUNICIPALITIES = [
    ("0301", 130), ("4601", 55), ("5001", 42), ("1103", 30), ("3201", 25), ("4204", 22), ("3907", 14),
    ("5501", 15), ("3301", 22), ("1108", 18), ("3205", 17), ("1506", 13), ("3403", 11), ("1804", 10),
    ("3101", 12), ("3024", 9), ("4203", 9), ("1505", 8), ("5403", 6), ("3411", 6), ("1875", 4), ("5444", 3),
]  # fmt: skip
OSLO_DISTRICTS = [f"0301{n:02d}" for n in range(1, 16)]
INSTITUTIONS = [
    ("993467049", 30), ("983971636", 22), ("983974724", 18), ("983974899", 15), ("983975240", 12),
    ("983974732", 10), ("983974910", 9), ("983975259", 8), ("983975267", 6), ("997005562", 5),
]  # fmt: skip
SPECIALTIES = [("010", 30), ("030", 25), ("020", 15), ("040", 10), ("050", 8), ("090", 7), ("110", 5)]
DRGS = [
    ("371O", 20),
    ("14A", 15),
    ("127B", 12),
    ("209D", 10),
    ("89C", 9),
    ("211A", 8),
    ("818O", 7),
    ("902A", 5),
]


@dataclass(frozen=True)
class SynthResult:
    patients: int
    npr_rows: int
    kpr_rows: int
    files: tuple[Path, ...]
    provenance: Path | None = None  # the PROVENANCE.json written beside the files


def _choice(rng: np.random.Generator, table: list[tuple[str, int]], size: int) -> pa.DictionaryArray:
    values = [v for v, _ in table]
    weights = np.array([w for _, w in table], dtype=np.float64)
    indices = rng.choice(len(values), size=size, p=weights / weights.sum()).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(values, pa.string()))


def _codes(rng: np.random.Generator, table: list[tuple[str, int]], size: int) -> pa.Array:
    return _choice(rng, table, size).cast(pa.string())


def _where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``values`` where ``mask`` holds, null elsewhere."""
    return pc.if_else(pa.array(mask), values, pa.scalar(None, values.type))


def _serials(prefix: str, count: int) -> pa.Array:
    numbers = pc.utf8_lpad(pa.array(np.arange(1, count + 1, dtype=np.int64)).cast(pa.string()), 9, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, "")


def _dates(mask: np.ndarray, days: np.ndarray) -> pa.Array:
    return _where(mask, pa.array(days.astype("datetime64[D]"), pa.date32()))


_K1 = np.array([3, 7, 6, 1, 8, 9, 4, 5, 2])
_K2 = np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])


def _controls(nine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k1, k2 and whether both exist, for rows of nine digits."""
    k1 = (11 - (nine @ _K1) % 11) % 11
    ten = np.concatenate([nine, k1[:, None]], axis=1)
    k2 = (11 - (ten @ _K2) % 11) % 11
    return k1, k2, (k1 != 10) & (k2 != 10)


def _digits(
    day_field: np.ndarray, months: np.ndarray, years: np.ndarray, individual: np.ndarray
) -> np.ndarray:
    month_field = months + 80  # Tenor: synthetic numbers carry month + 80
    return np.stack(
        [
            day_field // 10, day_field % 10, month_field // 10, month_field % 10,
            (years % 100) // 10, years % 10, individual // 100 % 10, individual // 10 % 10, individual % 10,
        ],
        axis=1,
    )  # fmt: skip


def person_numbers(birth: np.ndarray, d_number: np.ndarray) -> np.ndarray:
    """Unique, valid Tenor-style numbers (month + 80; day + 40 for D-numbers) for birth dates (days).

    Persons sharing a printed date get that date's valid individual numbers in order: the r-th
    person the r-th individual number whose two control digits exist.
    """
    dates = birth.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    day_field = days + 40 * d_number
    key = (day_field * 100 + months) * 100 + years % 100
    unique, inverse = np.unique(key, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    candidates = min(1000, int(rank.max(initial=0) * 1.5) + 40)
    u_day, u_month, u_year = unique // 10000, unique // 100 % 100, unique % 100
    valid = np.empty((len(unique), candidates), dtype=bool)
    for individual in range(candidates):
        _, _, ok = _controls(_digits(u_day, u_month, u_year, np.full(len(unique), individual)))
        valid[:, individual] = ok
    counts = valid.sum(axis=1)
    if np.any(counts[inverse] <= rank):
        raise RuntimeError("too many persons share a birth date for three-digit individual numbers")
    _, columns = np.nonzero(valid)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    individual = columns[first[inverse] + rank]
    digits = _digits(day_field, months, years, individual)
    k1, k2, ok = _controls(digits)
    assert ok.all()
    number = (digits @ (10 ** np.arange(10, 1, -1))) + k1 * 10 + k2
    return np.char.zfill(number.astype(str), 11)


UTC_US = pa.timestamp("us", tz="UTC")


def _utc(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), UTC_US)


def _timestamps(year: int, size: int, rng: np.random.Generator) -> np.ndarray:
    start = np.datetime64(f"{year}-01-01T00:00:00", "s")
    seconds = 365 * 86400
    return start + rng.integers(0, seconds, size=size).astype("timedelta64[s]")


def generate(out: Path, patients: int, year: int, seed: int) -> SynthResult:
    """Write one synthetic year into ``out`` (a folder per dataset) and ``out/PROVENANCE.json``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    # --- the population ------------------------------------------------------------------------
    ages = np.clip(rng.gamma(2.2, 19.0, size=patients), 0, 104).astype(np.int64)
    birth_day = (
        np.datetime64(f"{year}-07-01", "D")
        - (ages * 365.25).astype("timedelta64[D]")
        - rng.integers(0, 365, size=patients).astype("timedelta64[D]")
    )
    d_number = rng.random(patients) < 0.03
    fnr = pa.array(person_numbers(birth_day.astype(np.int64), d_number.astype(np.int64)), pa.string())
    sex = pa.array(rng.choice(np.array(["1", "2"]), size=patients), pa.string())
    municipality = _choice(rng, MUNICIPALITIES, patients)
    birth_year = birth_day.astype("datetime64[Y]").astype(np.int64) + 1970
    died = rng.random(patients) < 0.01
    # --- NPR: outpatient contacts and admissions -----------------------------------------------
    outpatient = rng.negative_binomial(1.2, 1.2 / (1.2 + OUTPATIENT_PER_PATIENT), size=patients)
    admissions = rng.poisson(ADMISSIONS_PER_PATIENT, size=patients)
    per_person = outpatient + admissions
    person = np.repeat(np.arange(patients), per_person)
    n = len(person)
    is_admission = np.zeros(n, dtype=bool)
    offsets = np.r_[0, np.cumsum(per_person)[:-1]]
    admission_slots = np.repeat(offsets + outpatient, admissions) + (
        np.arange(admissions.sum()) - np.repeat(np.r_[0, np.cumsum(admissions)[:-1]], admissions)
    )
    is_admission[admission_slots] = True
    start = _timestamps(year, n, rng)
    stay = np.where(is_admission, np.minimum(rng.geometric(0.25, size=n), 90), 0)
    end = start + (stay * 86400 + np.where(is_admission, 0, 3600)).astype("timedelta64[s]")
    referred = rng.random(n) < (REFERRALS_PER_PATIENT * patients / max(n, 1))
    received = start.astype("datetime64[D]") - rng.integers(10, 120, size=n).astype("timedelta64[D]")
    assessed = received + rng.integers(0, 10, size=n).astype("timedelta64[D]")
    deadline = received + rng.integers(30, 180, size=n).astype("timedelta64[D]")
    lag = rng.integers(1, 60, size=n).astype("timedelta64[D]")
    recorded = start.astype("datetime64[D]") + lag
    main = _choice(rng, ICD10, n)
    municipality_index = np.asarray(municipality.indices)
    oslo = municipality.dictionary.to_pylist().index("0301")
    people = pa.array(person)
    npr = {
        "record_id": np.arange(1, n + 1, dtype=np.int64),
        "version": np.ones(n, dtype=np.int32),
        "recorded_at": _utc(recorded),
        "fodselsnummer": fnr.take(people),
        "lopenummer": _serials(f"E{year}", n),
        "kjonn": sex.take(people),
        "fodselsar": birth_year[person].astype(np.int32),
        "kommunenummer": pa.DictionaryArray.from_arrays(
            pa.array(municipality_index[person]), municipality.dictionary
        ),
        "bydel": _where(
            municipality_index[person] == oslo,
            pa.array(OSLO_DISTRICTS).take(pa.array(rng.integers(0, len(OSLO_DISTRICTS), size=n))),
        ),
        "institusjon": _choice(rng, INSTITUTIONS, n),
        "behandlingssted": _choice(rng, INSTITUTIONS, n),
        "fagomrade": _choice(rng, SPECIALTIES, n),
        "omsorgsniva": pa.array(np.where(is_admission, "1", "3"), pa.string()),
        "kontakttype": pa.array(
            np.where(is_admission, "4", np.array(["1", "2", "3"])[rng.integers(0, 3, size=n)]), pa.string()
        ),
        "hastegrad": pa.array(np.where(rng.random(n) < 0.15, "1", "4"), pa.string()),
        "innskrivningstidspunkt": _utc(start),
        "utskrivningstidspunkt": _utc(end),
        "liggetid": stay.astype(np.int32),
        "hovedtilstand": main,
        "bitilstand": _where(rng.random(n) < 0.3, _codes(rng, ICD10, n)),
        "prosedyrekoder": _choice(rng, PROCEDURES, n),
        "drg": _where(is_admission, _codes(rng, DRGS, n)),
        "drg_poeng": _where(is_admission, pa.array(np.round(rng.gamma(2.0, 0.6, size=n), 3))),
        "henvisningsperiode": _where(
            referred, pc.binary_join_element_wise("H", people.cast(pa.string()), "")
        ),
        "mottatt_dato": _dates(referred, received),
        "vurdert_dato": _dates(referred, assessed),
        "frist_start_behandling": _dates(referred, deadline),
        "dodsdato": _dates(died[person], start.astype("datetime64[D]") + 30),
    }
    npr_table = _with_corrections(pa.table(npr), rng, ICD10, "hovedtilstand")
    # --- KPR: KUHR claims ------------------------------------------------------------------------
    claims = rng.negative_binomial(1.0, 1.0 / (1.0 + CLAIMS_PER_PERSON), size=patients)
    claimant = np.repeat(np.arange(patients), claims)
    m = len(claimant)
    when = _timestamps(year, m, rng)
    icd_share = rng.random(m) < 0.08
    claimants = pa.array(claimant)
    kpr = {
        "record_id": np.arange(1, m + 1, dtype=np.int64),
        "version": np.ones(m, dtype=np.int32),
        "recorded_at": _utc(
            when.astype("datetime64[D]") + rng.integers(1, 30, size=m).astype("timedelta64[D]")
        ),
        "fodselsnummer": fnr.take(claimants),
        "lopenummer": _serials(f"K{year}", m),
        "kjonn": sex.take(claimants),
        "fodselsar": birth_year[claimant].astype(np.int32),
        "kommunenummer": pa.DictionaryArray.from_arrays(
            pa.array(municipality_index[claimant]), municipality.dictionary
        ),
        "kontakttidspunkt": _utc(when),
        "kontakttype": pa.array(
            np.array(["oppmøte", "video", "telefon"])[rng.choice(3, size=m, p=[0.8, 0.1, 0.1])]
        ),
        "tjenestetype": _choice(rng, SERVICE_TYPES, m),
        "hoveddiagnose": pc.if_else(pa.array(icd_share), _codes(rng, ICD10, m), _codes(rng, ICPC2, m)),
        "diagnosekodeverk": pa.array(np.where(icd_share, "ICD-10", "ICPC-2"), pa.string()),
        "takstkoder": _choice(rng, FEE_CODES, m),
        "egenandel": np.round(rng.choice([0.0, 167.0, 279.0], size=m, p=[0.3, 0.4, 0.3]), 2),
        "refusjon": np.round(rng.gamma(2.0, 90.0, size=m), 2),
        "fritakskode": _where(rng.random(m) < 0.2, pa.array(np.full(m, "K"))),
    }
    kpr_table = _with_corrections(pa.table(kpr), rng, ICPC2, "hoveddiagnose")
    files = (*_replace_year(out, NPR_TABLE, npr_table, year), *_replace_year(out, KPR_TABLE, kpr_table, year))
    provenance = write_provenance(
        out,
        {
            "synthetic": True,
            "generator": f"hdab synth {__version__}",
            "seed": seed,
            "patients": patients,
            "year": year,
            "datasets": [NPR_TABLE, KPR_TABLE],
            "created_at": clock.now().isoformat(),
            # the files it speaks for: replaced or joined by others, it no longer vouches for them
            "files": {
                path.relative_to(out).as_posix(): {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
                for path in files
            },
        },
    )
    return SynthResult(patients, npr_table.num_rows, kpr_table.num_rows, files, provenance)


def _with_corrections(
    table: pa.Table, rng: np.random.Generator, codes: list[tuple[str, int]], column: str
) -> pa.Table:
    """About 2 % of records get a version 2 with another code, learned 2 to 10 months later."""
    n = table.num_rows
    picked = np.flatnonzero(rng.random(n) < CORRECTION_SHARE)
    corrected = table.take(pa.array(picked))
    recorded = corrected["recorded_at"].to_numpy().astype("datetime64[us]") + rng.integers(
        60, 300, size=len(picked)
    ).astype("timedelta64[D]")
    replacement = _choice(rng, codes, len(picked)).cast(pa.string())
    corrected = corrected.set_column(
        corrected.schema.get_field_index("version"),
        "version",
        pa.array(np.full(len(picked), 2, dtype=np.int32)),
    )
    corrected = corrected.set_column(
        corrected.schema.get_field_index("recorded_at"),
        "recorded_at",
        _utc(recorded),
    )
    index = corrected.schema.get_field_index(column)
    corrected = corrected.set_column(index, column, _as_type(replacement, table.schema.field(column).type))
    return pa.concat_tables([table, corrected], promote_options="permissive")


def _as_type(values: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(target):
        return values.dictionary_encode().cast(target)
    return values.cast(target)


def _replace_year(out: Path, dataset: str, table: pa.Table, year: int) -> list[Path]:
    """The year's rows as the registry's parts (``append``), in place of what synth wrote for it before."""
    name = f"synth-{year}"
    remove_parts(out, dataset, name)
    (out / dataset / f"{year}.parquet").unlink(missing_ok=True)  # the one-file layout synth wrote before
    return append(out, dataset, table, name=name, durable=False)  # made again from its seed
