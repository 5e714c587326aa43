"""Page texts of the applications pages, in Norwegian Bokmål and English."""

from __future__ import annotations

from hdab.applications.domain import Purpose, Status

_UI: dict[str, dict[str, str]] = {
    "en": {
        "my_applications": "My applications",
        "inbox": "Caseworker inbox",
        "register": "Public register of applications and decisions",
        "new": "New application",
        "start": "Start",
        "access": "Data permit (Art. 67)",
        "statistics": "Statistics request (Art. 69)",
        "title": "Title",
        "status": "Status",
        "due": "Due",
        "overdue": "overdue",
        "received": "Received",
        "organisation": "Organisation",
        "purpose": "Purpose",
        "datasets": "Datasets",
        "decision": "Decision",
        "justification": "Justification",
        "search": "Search",
        "save": "Save and continue",
        "submit": "Submit the application",
        "timeline": "Timeline",
        "deadlines": "Deadlines",
        "actions": "What you can do now",
        "permit": "Permit",
        "version": "Version",
        "valid_until": "Valid until",
        "delete_by": "Data deleted by",
        "download_jws": "Signed permit (JWS)",
        "fix": "To fix before submitting",
        "complete": "The application is complete and can be submitted.",
        "edit": "Edit the draft",
        "none": "Nothing here yet.",
        "section_applicant": "1. Applicant and team",
        "section_purpose": "2. Purpose and use",
        "section_data": "3. Data requested",
        "section_conditions": "4. Safeguards, period and tools",
        "section_submit": "5. Declaration and submission",
        "persons_help": "One person per line: email, name. The principal investigator first.",
        "public_sector": "We are a public-sector body",
        "art54": "I declare that the data will not be used for any purpose prohibited by Art. 54"
        " (decisions to a person's detriment, insurance or credit discrimination, advertising,"
        " harmful products, or breaches of national ethics law).",
        "pseudonymised": "Pseudonymised (anonymised is the default, Art. 66)",
        "population": "The study population is defined by",
        "population_evident": "the one dataset with code criteria",
        "whole_population": "Everyone in this dataset, not only the study population",
        "whole_population_reason": "Why the study needs everyone (Art. 66 data minimisation)",
        "remove": "Remove",
        "notifications": "Notifications",
        "fee": "Fee",
    },
    "nb": {
        "my_applications": "Mine søknader",
        "inbox": "Saksbehandlers innboks",
        "register": "Offentlig register over søknader og vedtak",
        "new": "Ny søknad",
        "start": "Start",
        "access": "Datatilgangstillatelse (art. 67)",
        "statistics": "Statistikkforespørsel (art. 69)",
        "title": "Tittel",
        "status": "Status",
        "due": "Frist",
        "overdue": "over fristen",
        "received": "Mottatt",
        "organisation": "Organisasjon",
        "purpose": "Formål",
        "datasets": "Datasett",
        "decision": "Vedtak",
        "justification": "Begrunnelse",
        "search": "Søk",
        "save": "Lagre og fortsett",
        "submit": "Send inn søknaden",
        "timeline": "Tidslinje",
        "deadlines": "Frister",
        "actions": "Hva du kan gjøre nå",
        "permit": "Tillatelse",
        "version": "Versjon",
        "valid_until": "Gyldig til",
        "delete_by": "Data slettes innen",
        "download_jws": "Signert tillatelse (JWS)",
        "fix": "Må rettes før innsending",
        "complete": "Søknaden er fullstendig og kan sendes inn.",
        "edit": "Rediger utkastet",
        "none": "Ingenting her ennå.",
        "section_applicant": "1. Søker og prosjektgruppe",
        "section_purpose": "2. Formål og bruk",
        "section_data": "3. Data det søkes om",
        "section_conditions": "4. Sikkerhetstiltak, periode og verktøy",
        "section_submit": "5. Erklæring og innsending",
        "persons_help": "Én person per linje: e-post, navn. Prosjektleder først.",
        "public_sector": "Vi er et offentlig organ",
        "art54": "Jeg erklærer at dataene ikke skal brukes til formål som er forbudt etter art. 54"
        " (avgjørelser til skade for enkeltpersoner, forsikrings- eller kredittdiskriminering,"
        " reklame, skadelige produkter eller brudd på nasjonal etikklovgivning).",
        "pseudonymised": "Pseudonymisert (anonymisert er standard, art. 66)",
        "population": "Studiepopulasjonen avgrenses av",
        "population_evident": "det ene datasettet med kodekriterier",
        "whole_population": "Alle i dette datasettet, ikke bare studiepopulasjonen",
        "whole_population_reason": "Hvorfor studien trenger alle (art. 66 dataminimering)",
        "remove": "Fjern",
        "notifications": "Varsler",
        "fee": "Gebyr",
    },
}

PURPOSES: dict[Purpose, tuple[str, str]] = {
    Purpose.PUBLIC_HEALTH: (
        "(a) public interest in public and occupational health",
        "(a) folkehelse og arbeidshelse",
    ),
    Purpose.POLICY: ("(b) policy making and regulation", "(b) politikkutforming og regulering"),
    Purpose.OFFICIAL_STATISTICS: ("(c) official statistics", "(c) offisiell statistikk"),
    Purpose.EDUCATION: ("(d) education and teaching", "(d) utdanning og undervisning"),
    Purpose.RESEARCH: (
        "(e) scientific research, including innovation",
        "(e) vitenskapelig forskning og innovasjon",
    ),
    Purpose.IMPROVING_CARE: ("(f) improving care and treatment", "(f) bedre helsehjelp og behandling"),
}

STATUSES: dict[Status, str] = {
    Status.DRAFT: "Utkast",
    Status.SUBMITTED: "Mottatt",
    Status.PRE_SCREENING: "Kontroll av fullstendighet",
    Status.AWAITING_ADDITIONAL_INFORMATION: "Venter på opplysninger",
    Status.PROCESSING: "Under vurdering",
    Status.AWAITING_FEE_ACCEPTANCE: "Venter på godkjent gebyr",
    Status.DECISION_ISSUED: "Vedtak fattet",
    Status.CLOSED_INCOMPLETE: "Avsluttet, ufullstendig",
    Status.WITHDRAWN: "Trukket",
    Status.ANSWERED: "Besvart",
    Status.APPEALED: "Påklaget",
    Status.APPEAL_APPROVED: "Klage tatt til følge",
    Status.APPEAL_REJECTED: "Klage ikke tatt til følge",
    Status.GRANTED: "Tillatelse gitt",
    Status.AMENDMENT_REQUESTED: "Endring søkt",
    Status.AMENDED: "Endret",
    Status.RENEWAL_REQUESTED: "Forlengelse søkt",
    Status.RENEWED: "Forlenget",
    Status.EXPIRED: "Utløpt",
    Status.REVOKED: "Tilbakekalt",
}


def ui(lang: str) -> dict[str, str]:
    return _UI["nb" if lang == "nb" else "en"]


def purpose_label(code: str | None, lang: str) -> str:
    if code is None or code not in Purpose._value2member_map_:
        return ""
    en, nb = PURPOSES[Purpose(code)]
    return nb if lang == "nb" else en


def status_label(code: str | None, lang: str) -> str:
    if code is None or code not in Status._value2member_map_:
        return ""
    return STATUSES[Status(code)] if lang == "nb" else code.replace("_", " ").capitalize()
