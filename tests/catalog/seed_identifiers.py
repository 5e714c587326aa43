"""The seed's dataset identifiers, as the catalogue issue names them (written out, not read from the code)."""

SEED = frozenset(
    {
        "npr-somatikk",
        "npr-phv",
        "npr-phbu",
        "npr-tsb",
        "npr-avtalespesialister",
        "npr-rehabilitering",
        "kpr-kuhr",
        "kpr-helse-og-omsorg",
    }
)
