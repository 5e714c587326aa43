"""The seed: the real NPR and KPR datasets, described from the facts in DOMAIN.md.

What DOMAIN.md does not state is left out rather than invented (see ``NOT_STATED``): the records
say what the registries are, what they hold, from when, how often they are reported, their volumes
where published, their variables and coding systems, and how access is granted (a data permit or a
statistics request at this HDAB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hdab.catalog.domain import (
    Activity,
    Agent,
    Coarsening,
    Column,
    ContactPoint,
    DatasetRecord,
    DisclosureRole,
    Distribution,
    DistributionRole,
    LangString,
    LegalBasis,
    PeriodOfTime,
    Purpose,
    Table,
    TableGroup,
    Text,
    canonical,
)
from hdab.catalog.rdf.namespaces import EHDS_ELI, eu, health, media_type, organisation

FHI_ORGANISATION_NUMBER = "983744516"
HEALTH_REGISTRY_ACT = "https://lovdata.no/dokument/NL/lov/2014-06-20-43"

# Facts a complete record would carry but DOMAIN.md does not state; listed, not invented.
NOT_STATED = (
    "number of records and of unique individuals over each dataset's whole period (only yearly"
    " volumes are published: stated in the descriptions)",
    "retention periods of NPR and KPR data",
    "start years of NPR PHBU, TSB, contracted specialists and private rehabilitation",
    "reporting frequency of NPR datasets other than somatic care",
    "byte sizes of the distributions; a licence (access is by permit, not by licence)",
    "a data quality and utility label (EHDS Art. 78) or other quality certificate",
    "national LOS themes (dcat:theme accepts only the EU data-theme table in HealthDCAT-AP)",
    "a synthetic sample distribution (comes with the synthetic registry generator)",
    "FHI's registry contact e-mail addresses (the contact points give FHI's web site)",
)


def _t(en: str, nb: str, nn: str | None = None) -> Text:
    return Text(en=en, nb=nb, nn=nn)


# What each variable can reveal (the data holder's classification; an application can add
# quasi-identifiers, never remove one) and how anonymised releases generalise it by default.
_DIRECT, _QUASI, _SENSITIVE = (
    DisclosureRole.DIRECT_IDENTIFIER,
    DisclosureRole.QUASI_IDENTIFIER,
    DisclosureRole.SENSITIVE,
)
DISCLOSURE: dict[str, tuple[DisclosureRole, Coarsening | None]] = {
    # record serials and referral keys point back at the registry's own rows
    "lopenummer": (_DIRECT, None),
    "henvisningsperiode": (_DIRECT, None),
    # the classic quasi-identifiers: known to neighbours, employers and insurers
    "kjonn": (_QUASI, None),
    "fodselsar": (_QUASI, None),
    "kommunenummer": (_QUASI, None),
    "bydel": (_QUASI, None),
    "dodsdato": (_QUASI, Coarsening.MONTH),
    # diagnoses and procedures: what must not be learnt from the group a person falls in
    "hovedtilstand": (_SENSITIVE, None),
    "bitilstand": (_SENSITIVE, None),
    "prosedyrekoder": (_SENSITIVE, None),
    "drg": (_SENSITIVE, None),
    "hoveddiagnose": (_SENSITIVE, None),
    # exact times of care: to the month in anonymised releases
    "innskrivningstidspunkt": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "utskrivningstidspunkt": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "kontakttidspunkt": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "mottatt_dato": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "vurdert_dato": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "frist_start_behandling": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "tjeneste_startdato": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
    "tjeneste_sluttdato": (DisclosureRole.NON_IDENTIFYING, Coarsening.MONTH),
}


@dataclass(frozen=True)
class _Var:
    name: str
    en: str
    nb: str
    description_en: str
    description_nb: str
    datatype: str = "string"
    coding: str | None = None

    def column(self) -> Column:
        return Column(
            name=self.name,
            title=_t(self.en, self.nb),
            description=_t(self.description_en, self.description_nb),
            datatype=self.datatype,
            coding_system=self.coding,
            disclosure=DISCLOSURE.get(self.name, (DisclosureRole.NON_IDENTIFYING, None))[0],
            anonymised_as=DISCLOSURE.get(self.name, (DisclosureRole.NON_IDENTIFYING, None))[1],
        )


ICD10 = health("coding-system", "ICD-10")
ICPC2 = health("coding-system", "ICPC-2")
PROCEDURES = health("coding-system", "PROC-CODES-NAT")  # NCSP, NCMP, NCRP

PERSON = (
    _Var(
        "lopenummer",
        "Project serial number",
        "Løpenummer",
        "Serial number replacing the national identity number; pseudonymised per permit, so records of"
        " one person link within a delivery and across NPR and KPR, never across permits.",
        "Løpenummer som erstatter fødselsnummeret; pseudonymisert per tillatelse, slik at opplysninger om"
        " samme person kan kobles i en utlevering og mellom NPR og KPR, men aldri mellom tillatelser.",
    ),
    _Var("kjonn", "Sex", "Kjønn", "Sex of the patient.", "Pasientens kjønn."),
    _Var(
        "fodselsar",
        "Birth year",
        "Fødselsår",
        "Year of birth (birth dates are generalised to the year).",
        "Fødselsår (fødselsdato generaliseres til år).",
        "integer",
    ),
    _Var(
        "kommunenummer",
        "Municipality",
        "Kommunenummer",
        "Municipality of residence (kommunenummer).",
        "Bostedskommune (kommunenummer).",
    ),
)
BYDEL = _Var(
    "bydel",
    "City district",
    "Bydel",
    "City district of residence, in cities with districts.",
    "Bydel for bosted i kommuner med bydeler.",
)
DEATH = _Var(
    "dodsdato",
    "Death date",
    "Dødsdato",
    "Date of death, when the person has died.",
    "Dødsdato, når personen er død.",
    "date",
)
EPISODE = (
    _Var(
        "institusjon",
        "Institution",
        "Institusjon",
        "Reporting institution (health trust, hospital or private institution).",
        "Rapporterende institusjon (helseforetak, sykehus eller privat institusjon).",
    ),
    _Var(
        "behandlingssted",
        "Treatment site",
        "Behandlingssted",
        "Site where the treatment took place.",
        "Stedet der behandlingen fant sted.",
    ),
    _Var(
        "innskrivningstidspunkt",
        "Admission date and time",
        "Innskrivningstidspunkt",
        "Date and time the episode started (admission, or start of the outpatient contact).",
        "Dato og tid for start av episoden (innleggelse eller start av poliklinisk kontakt).",
        "dateTime",
    ),
    _Var(
        "utskrivningstidspunkt",
        "Discharge date and time",
        "Utskrivningstidspunkt",
        "Date and time the episode ended.",
        "Dato og tid for slutt på episoden.",
        "dateTime",
    ),
    _Var(
        "liggetid",
        "Length of stay",
        "Liggetid",
        "Length of stay in days for inpatient stays.",
        "Liggetid i døgn for innleggelser.",
        "integer",
    ),
    _Var(
        "omsorgsniva",
        "Care level",
        "Omsorgsnivå",
        "Inpatient, day treatment or outpatient.",
        "Døgnopphold, dagbehandling eller poliklinikk.",
    ),
    _Var(
        "hastegrad",
        "Urgency",
        "Hastegrad",
        "Whether the admission was emergency or planned.",
        "Om innleggelsen var øyeblikkelig hjelp eller planlagt.",
    ),
    _Var(
        "kontakttype",
        "Contact type",
        "Kontakttype",
        "Type of contact (for example assessment, treatment, follow-up).",
        "Type kontakt (for eksempel utredning, behandling, kontroll).",
    ),
    _Var(
        "fagomrade",
        "Specialty",
        "Fagområde",
        "Medical specialty of the episode.",
        "Medisinsk fagområde for episoden.",
    ),
    _Var(
        "hovedtilstand",
        "Main condition",
        "Hovedtilstand",
        "Main condition treated, coded with ICD-10.",
        "Hovedtilstanden som ble behandlet, kodet med ICD-10.",
        coding=ICD10,
    ),
    _Var(
        "bitilstand",
        "Further conditions",
        "Bitilstand",
        "Further conditions (comorbidities), ICD-10.",
        "Bitilstander (tilleggsdiagnoser), ICD-10.",
        coding=ICD10,
    ),
    _Var(
        "prosedyrekoder",
        "Procedure codes",
        "Prosedyrekoder",
        "Procedures performed: NCSP surgical, NCMP medical and NCRP rehabilitation procedure codes.",
        "Utførte prosedyrer: kirurgiske (NCSP), medisinske (NCMP) og rehabiliteringsprosedyrer (NCRP).",
        coding=PROCEDURES,
    ),
)
DRG = (
    _Var(
        "drg",
        "DRG",
        "DRG",
        "Diagnosis-related group assigned to the episode (activity-based financing).",
        "Diagnoserelatert gruppe for episoden (innsatsstyrt finansiering).",
        coding=None,
    ),
    _Var(
        "drg_poeng",
        "DRG points",
        "DRG-poeng",
        "DRG points (cost weight) of the episode.",
        "DRG-poeng (kostnadsvekt) for episoden.",
        "decimal",
    ),
)
WAITING = (
    _Var(
        "henvisningsperiode",
        "Referral period key",
        "Henvisningsperiode",
        "Key of the referral period the episode belongs to.",
        "Nøkkel for henvisningsperioden episoden hører til.",
    ),
    _Var(
        "mottatt_dato",
        "Referral received",
        "Mottatt dato",
        "Date the referral was received (waiting time starts).",
        "Dato henvisningen ble mottatt (ventetiden starter).",
        "date",
    ),
    _Var(
        "vurdert_dato",
        "Referral assessed",
        "Vurdert dato",
        "Date the referral was assessed.",
        "Dato henvisningen ble vurdert.",
        "date",
    ),
    _Var(
        "frist_start_behandling",
        "Deadline for start of treatment",
        "Frist for start helsehjelp",
        "Deadline set for the start of treatment (waiting-time guarantee).",
        "Frist for når helsehjelpen skal starte (ventetidsgaranti).",
        "date",
    ),
)
KUHR = (
    _Var(
        "kontakttidspunkt",
        "Date and time of contact",
        "Kontakttidspunkt",
        "Date and time of the consultation the claim is for.",
        "Dato og tid for konsultasjonen kravet gjelder.",
        "dateTime",
    ),
    _Var(
        "kontakttype",
        "Contact type",
        "Kontakttype",
        "Consultation, home visit, e-consultation and the like.",
        "Konsultasjon, sykebesøk, e-konsultasjon og lignende.",
    ),
    _Var(
        "tjenestetype",
        "Service type",
        "Tjenestetype",
        "Service that sent the claim: GP, out-of-hours"
        " service, physiotherapist, chiropractor, midwife, speech therapist and others.",
        "Tjenesten som sendte kravet: fastlege, legevakt, fysioterapeut, kiropraktor, jordmor, logoped med flere.",
    ),
    _Var(
        "hoveddiagnose",
        "Main diagnosis",
        "Hoveddiagnose",
        "Main diagnosis of the contact, ICPC-2 or ICD-10 (see diagnosekodeverk).",
        "Hoveddiagnose for kontakten, ICPC-2 eller ICD-10 (se diagnosekodeverk).",
        coding=ICPC2,
    ),
    _Var(
        "diagnosekodeverk",
        "Diagnosis code system",
        "Diagnosekodeverk",
        "Code system of the main diagnosis: ICPC-2 or ICD-10.",
        "Kodeverket for hoveddiagnosen: ICPC-2 eller ICD-10.",
    ),
    _Var(
        "takstkoder",
        "Fee codes",
        "Takstkoder",
        "Fee codes (takster) claimed for the contact.",
        "Takstkoder som er krevd for kontakten.",
    ),
    _Var(
        "fritakskode",
        "Exemption code",
        "Fritakskode",
        "Code for exemption from the patient's deductible.",
        "Kode for fritak fra egenandel.",
    ),
    _Var(
        "egenandel",
        "Deductible",
        "Egenandel",
        "Deductible paid by the patient, NOK.",
        "Egenandel betalt av pasienten, kroner.",
        "decimal",
    ),
    _Var(
        "refusjon",
        "Refund",
        "Refusjon",
        "Refund claimed from HELFO, NOK.",
        "Refusjon krevd fra HELFO, kroner.",
        "decimal",
    ),
)
CARE = (
    _Var(
        "tjenestetype",
        "Service type",
        "Tjenestetype",
        "Municipal health or care service: home nursing,"
        " practical help, long-term or short-term stay, relief care, user-controlled personal assistance,"
        " day activities, safety alarm and others.",
        "Kommunal helse- eller omsorgstjeneste: helsetjenester i"
        " hjemmet, praktisk bistand, langtids- eller korttidsopphold, avlastning, brukerstyrt personlig"
        " assistanse, dagaktivitet, trygghetsalarm med flere.",
    ),
    _Var(
        "tjeneste_startdato",
        "Service start",
        "Startdato for tjenesten",
        "Date the service started.",
        "Dato tjenesten startet.",
        "date",
    ),
    _Var(
        "tjeneste_sluttdato",
        "Service end",
        "Sluttdato for tjenesten",
        "Date the service ended, if it has.",
        "Dato tjenesten ble avsluttet, hvis den er det.",
        "date",
    ),
)


@dataclass(frozen=True)
class _Spec:
    identifier: str
    title: Text
    description: Text
    keywords_en: tuple[str, ...]
    keywords_nb: tuple[str, ...]
    table: str
    table_title: Text
    variables: tuple[_Var, ...]
    coding_systems: tuple[str, ...]
    health_categories: tuple[str, ...]
    health_themes: tuple[str, ...]
    activity: str
    population: Text
    registry: str  # "NPR" or "KPR"
    start: date | None = None
    frequency: str | None = None
    min_age: int | None = 0
    max_age: int | None = None


NPR_BASE = (*PERSON, BYDEL, *EPISODE, *DRG, *WAITING, DEATH)
NPR_NO_DRG = (*PERSON, BYDEL, *EPISODE, *WAITING, DEATH)

SPECS = (
    _Spec(
        "npr-somatikk",
        _t("NPR somatic specialist health care", "NPR somatikk", "NPR somatikk"),
        _t(
            "The Norwegian Patient Registry's data on somatic specialist health care: admissions, day"
            " treatment and outpatient contacts at public health trusts and private institutions, with"
            " diagnoses (ICD-10), procedures (NCSP, NCMP, NCRP), DRG and waiting times. Data from 1997,"
            " person-identifiable from 2008, reported by tertial. Somatic hospitals treated 2,109,501"
            " Norwegian residents in 2023 (Statistics Norway).",
            "Norsk pasientregisters data om somatisk spesialisthelsetjeneste (somatikk): innleggelser,"
            " dagbehandling og polikliniske kontakter ved offentlige helseforetak og private institusjoner,"
            " med diagnoser (ICD-10), prosedyrer (NCSP, NCMP, NCRP), DRG og ventetider. Data fra 1997,"
            " personidentifiserbare fra 2008, rapportert per tertial. Somatiske sykehus behandlet 2 109 501"
            " personer bosatt i Norge i 2023 (SSB).",
            "Norsk pasientregister sine data om somatisk spesialisthelseteneste (somatikk): innleggingar,"
            " dagbehandling og polikliniske kontaktar ved offentlege helseføretak og private institusjonar,"
            " med diagnosar (ICD-10), prosedyrar (NCSP, NCMP, NCRP), DRG og ventetider. Data frå 1997,"
            " personidentifiserbare frå 2008, rapportert per tertial.",
        ),
        ("somatic care", "hospital", "admissions", "outpatient", "NCSP", "waiting time", "DRG"),
        ("somatikk", "sykehus", "innleggelser", "poliklinikk", "NCSP", "ventetid", "DRG"),
        "episoder",
        _t("Episodes of somatic care", "Episoder i somatikk"),
        NPR_BASE,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "HEALTH_SYSTEMS"),),
        "HEALTH_REGISTRIES",
        _t(
            "All patients treated in Norwegian somatic specialist health care, public and private, from 1997"
            " (person-identifiable from 2008).",
            "Alle pasienter behandlet i somatisk spesialisthelsetjeneste i Norge, offentlig og privat, fra 1997"
            " (personidentifiserbart fra 2008).",
        ),
        "NPR",
        start=date(1997, 1, 1),
        frequency=eu("frequency", "ANNUAL_3"),
    ),
    _Spec(
        "npr-phv",
        _t(
            "NPR mental health care for adults",
            "NPR psykisk helsevern for voksne",
            "NPR psykisk helsevern for vaksne",
        ),
        _t(
            "The Norwegian Patient Registry's data on mental health care for adults (psykisk helsevern for"
            " voksne): inpatient stays, day treatment and outpatient contacts in specialist mental health"
            " services, with diagnoses (ICD-10), procedures and waiting times. Data from 2008.",
            "Norsk pasientregisters data om psykisk helsevern for voksne: døgnopphold, dagbehandling og"
            " polikliniske kontakter i psykisk helsevern i spesialisthelsetjenesten, med diagnoser (ICD-10),"
            " prosedyrer og ventetider. Data fra 2008.",
        ),
        ("mental health", "mental health care", "psychiatry", "adults"),
        ("psykisk helsevern", "psykisk helse", "psykiatri", "voksne"),
        "episoder",
        _t("Episodes of adult mental health care", "Episoder i psykisk helsevern for voksne"),
        NPR_NO_DRG,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "MENTAL_HEALTH"),),
        "HEALTH_REGISTRIES",
        _t(
            "Adults treated in Norwegian specialist mental health care from 2008.",
            "Voksne behandlet i psykisk helsevern i spesialisthelsetjenesten i Norge fra 2008.",
        ),
        "NPR",
        start=date(2008, 1, 1),
        min_age=18,
    ),
    _Spec(
        "npr-phbu",
        _t(
            "NPR mental health care for children and adolescents",
            "NPR psykisk helsevern for barn og unge",
            "NPR psykisk helsevern for barn og unge",
        ),
        _t(
            "The Norwegian Patient Registry's data on mental health care for children and adolescents"
            " (psykisk helsevern for barn og unge): contacts and stays in child and adolescent mental health"
            " services, with diagnoses (ICD-10), procedures and waiting times.",
            "Norsk pasientregisters data om psykisk helsevern for barn og unge: kontakter og opphold i"
            " psykisk helsevern for barn og unge, med diagnoser (ICD-10), prosedyrer og ventetider.",
        ),
        ("mental health", "mental health care", "children", "adolescents"),
        ("psykisk helsevern", "psykisk helse", "barn", "unge", "BUP"),
        "episoder",
        _t(
            "Episodes of child and adolescent mental health care",
            "Episoder i psykisk helsevern for barn og unge",
        ),
        NPR_NO_DRG,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "MENTAL_HEALTH"), health("health-theme", "LIFECOURSE_HEALTH")),
        "HEALTH_REGISTRIES",
        _t(
            "Children and adolescents treated in Norwegian specialist mental health care.",
            "Barn og unge behandlet i psykisk helsevern i spesialisthelsetjenesten i Norge.",
        ),
        "NPR",
        max_age=17,
    ),
    _Spec(
        "npr-tsb",
        _t(
            "NPR interdisciplinary specialised substance-abuse treatment",
            "NPR tverrfaglig spesialisert rusbehandling",
            "NPR tverrfagleg spesialisert rusbehandling",
        ),
        _t(
            "The Norwegian Patient Registry's data on interdisciplinary specialised treatment for substance"
            " abuse (TSB): inpatient stays and outpatient contacts, with diagnoses (ICD-10), procedures and"
            " waiting times.",
            "Norsk pasientregisters data om tverrfaglig spesialisert rusbehandling (TSB): døgnopphold og"
            " polikliniske kontakter, med diagnoser (ICD-10), prosedyrer og ventetider.",
        ),
        ("substance abuse", "addiction treatment", "TSB"),
        ("rusbehandling", "rus", "avhengighet", "TSB"),
        "episoder",
        _t("Episodes of substance-abuse treatment", "Episoder i rusbehandling"),
        NPR_NO_DRG,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "MENTAL_HEALTH"),),
        "HEALTH_REGISTRIES",
        _t(
            "Patients in interdisciplinary specialised substance-abuse treatment in Norway.",
            "Pasienter i tverrfaglig spesialisert rusbehandling i Norge.",
        ),
        "NPR",
    ),
    _Spec(
        "npr-avtalespesialister",
        _t("NPR contracted specialists", "NPR avtalespesialister", "NPR avtalespesialistar"),
        _t(
            "The Norwegian Patient Registry's data on consultations with contracted specialists"
            " (avtalespesialister): about 1,400 private specialists with an agreement with a regional health"
            " authority have a duty to report; about 3.2 million consultations in 2018. Diagnoses (ICD-10)"
            " and procedures.",
            "Norsk pasientregisters data om konsultasjoner hos avtalespesialister: om lag 1 400 private"
            " spesialister med driftsavtale med et regionalt helseforetak har rapporteringsplikt; om lag"
            " 3,2 millioner konsultasjoner i 2018. Diagnoser (ICD-10) og prosedyrer.",
        ),
        ("contracted specialists", "private specialists", "consultations"),
        ("avtalespesialister", "privatpraktiserende spesialister", "konsultasjoner"),
        "konsultasjoner",
        _t("Consultations with contracted specialists", "Konsultasjoner hos avtalespesialister"),
        PERSON + EPISODE,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "HEALTH_SYSTEMS"),),
        "HEALTH_REGISTRIES",
        _t("Patients of contracted specialists in Norway.", "Pasienter hos avtalespesialister i Norge."),
        "NPR",
    ),
    _Spec(
        "npr-rehabilitering",
        _t(
            "NPR private rehabilitation institutions",
            "NPR private rehabiliteringsinstitusjoner",
            "NPR private rehabiliteringsinstitusjonar",
        ),
        _t(
            "The Norwegian Patient Registry's data on stays and contacts at private rehabilitation"
            " institutions with an agreement with a regional health authority, with diagnoses (ICD-10) and"
            " rehabilitation procedures (NCRP).",
            "Norsk pasientregisters data om opphold og kontakter ved private rehabiliteringsinstitusjoner med"
            " avtale med et regionalt helseforetak, med diagnoser (ICD-10) og rehabiliteringsprosedyrer (NCRP).",
        ),
        ("rehabilitation", "private institutions"),
        ("rehabilitering", "private institusjoner"),
        "episoder",
        _t("Rehabilitation episodes", "Rehabiliteringsepisoder"),
        PERSON + EPISODE + WAITING,
        (ICD10, PROCEDURES),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "HEALTH_SYSTEMS"),),
        "HEALTH_REGISTRIES",
        _t(
            "Patients at private rehabilitation institutions in Norway.",
            "Pasienter ved private rehabiliteringsinstitusjoner i Norge.",
        ),
        "NPR",
    ),
    _Spec(
        "kpr-kuhr",
        _t("KPR reimbursement claims (KUHR)", "KPR refusjonskrav (KUHR)", "KPR refusjonskrav (KUHR)"),
        _t(
            "The Municipal Patient and User Registry's reimbursement claims (KUHR) from GPs, out-of-hours"
            " services, physiotherapists, chiropractors, midwives at health stations, speech therapists,"
            " audiologists, orthoptists, dentists and dental hygienists: each claim with diagnosis (ICPC-2 or"
            " ICD-10), fee codes, deductible and refund. From July 2016, reported continuously.",
            "Kommunalt pasient- og brukerregisters refusjonskrav (KUHR) fra fastleger, legevakt,"
            " fysioterapeuter, kiropraktorer, jordmødre ved helsestasjon, logopeder, audiopedagoger,"
            " ortoptister, tannleger og tannpleiere: hvert krav med diagnose (ICPC-2 eller ICD-10), takster,"
            " egenandel og refusjon. Fra juli 2016, rapportert fortløpende.",
        ),
        (
            "reimbursement claims",
            "general practitioners",
            "out-of-hours services",
            "physiotherapy",
            "primary care",
            "ICPC-2",
        ),
        ("refusjon", "refusjonskrav", "fastlege", "legevakt", "fysioterapi", "primærhelsetjeneste", "ICPC-2"),
        "regningskrav",
        _t("Reimbursement claims", "Refusjonskrav"),
        PERSON + KUHR,
        (ICPC2, ICD10),
        (health("healthcategories", "PHDR"), health("healthcategories", "HRAD")),
        (health("health-theme", "HEALTH_SYSTEMS"),),
        "INSURANCE_CLAIMS",
        _t(
            "Patients of GPs, out-of-hours services and other reimbursed primary care providers in Norway"
            " from July 2016.",
            "Pasienter hos fastleger, legevakt og andre refusjonsberettigede behandlere i Norge fra juli 2016.",
        ),
        "KPR",
        start=date(2016, 7, 1),
        frequency=eu("frequency", "CONT"),
    ),
    _Spec(
        "kpr-helse-og-omsorg",
        _t(
            "KPR municipal health and care services",
            "KPR helse- og omsorgstjenester",
            "KPR helse- og omsorgstenester",
        ),
        _t(
            "The Municipal Patient and User Registry's data on municipal health and care services: home"
            " nursing and other health care at home, practical help, long-term and short-term stays, relief"
            " care, user-controlled personal assistance, day activities, safety alarms and more. From 2017,"
            " reported yearly.",
            "Kommunalt pasient- og brukerregisters data om kommunale helse- og omsorgstjenester:"
            " helsetjenester i hjemmet, praktisk bistand, langtids- og korttidsopphold, avlastning,"
            " brukerstyrt personlig assistanse, dagaktivitet, trygghetsalarm med mer. Fra 2017, rapportert"
            " årlig.",
        ),
        ("home care", "nursing homes", "municipal care services", "practical help"),
        ("hjemmetjenester", "sykehjem", "omsorgstjenester", "praktisk bistand", "helsetjenester i hjemmet"),
        "tjenester",
        _t("Municipal health and care services", "Kommunale helse- og omsorgstjenester"),
        PERSON + CARE,
        (),
        (health("healthcategories", "PHDR"),),
        (health("health-theme", "HEALTH_SYSTEMS"), health("health-theme", "LIFECOURSE_HEALTH")),
        "MUNICIPAL_REPOSITORY",
        _t(
            "Recipients of municipal health and care services in Norway from 2017.",
            "Mottakere av kommunale helse- og omsorgstjenester i Norge fra 2017.",
        ),
        "KPR",
        start=date(2017, 1, 1),
        frequency=eu("frequency", "ANNUAL"),
    ),
)


def fhi() -> Agent:
    return Agent(
        iri=organisation(FHI_ORGANISATION_NUMBER),
        name=_t("Norwegian Institute of Public Health", "Folkehelseinstituttet", "Folkehelseinstituttet"),
        type=health("publisher-type", "public-health-institute"),
        contact=ContactPoint(url="https://www.fhi.no/"),
        organisation_number=FHI_ORGANISATION_NUMBER,
        homepage="https://www.fhi.no/",
    )


def hdab_agent(base_url: str) -> Agent:
    return Agent(
        iri=f"{base_url}/agents/hdab",
        name=_t(
            "Health Data Access Body for NPR and KPR",
            "Helsedataservice for NPR og KPR",
            "Helsedataservice for NPR og KPR",
        ),
        type=health("publisher-type", "national-authority"),
        contact=ContactPoint(url=f"{base_url}/"),
        homepage=f"{base_url}/",
    )


def _record(spec: _Spec, base_url: str) -> DatasetRecord:
    iri = f"{base_url}/datasets/{spec.identifier}"
    page = f"{base_url}/datasets/{spec.identifier}"
    registry = (
        "Norwegian Patient Registry (NPR)"
        if spec.registry == "NPR"
        else ("Municipal Patient and User Registry (KPR)")
    )
    registry_nb = (
        "Norsk pasientregister (NPR)"
        if spec.registry == "NPR"
        else ("Kommunalt pasient- og brukerregister (KPR)")
    )
    access = Distribution(
        iri=f"{iri}/distributions/permit",
        role=DistributionRole.MAIN,
        title=_t("Microdata under a data permit", "Mikrodata med datatilgangstillatelse"),
        description=_t(
            "Minimised, opt-out-filtered and pseudonymised microdata delivered to the secure processing"
            " environment under a data permit (EHDS Art. 68).",
            "Minimerte, reservasjonsfiltrerte og pseudonymiserte mikrodata levert til det sikre"
            " behandlingsmiljøet med datatilgangstillatelse (EHDS art. 68).",
        ),
        access_url=page,
        format=eu("file-type", "PARQUET"),
        media_type=media_type("application/vnd.apache.parquet"),
        rights=_t(
            "Access only with a data permit, in the secure processing environment.",
            "Tilgang bare med datatilgangstillatelse, i det sikre behandlingsmiljøet.",
        ),
        status=eu("distribution-status", "COMPLETED"),
        availability=eu("planned-availability", "STABLE"),
    )
    statistics = Distribution(
        iri=f"{iri}/distributions/statistics",
        role=DistributionRole.ANALYTICS,
        title=_t("Anonymised statistics on request", "Anonymisert statistikk på forespørsel"),
        description=_t(
            "Tables of counts answering a health data request (EHDS Art. 69), checked for disclosure risk.",
            "Tabeller med antall som svar på en forespørsel om helsedata (EHDS art. 69), kontrollert for"
            " avsløringsrisiko.",
        ),
        access_url=f"{page}#statistics",
        format=eu("file-type", "CSV"),
        media_type=media_type("text/csv"),
        rights=_t("Anonymised statistics only.", "Bare anonymisert statistikk."),
        status=eu("distribution-status", "COMPLETED"),
        availability=eu("planned-availability", "STABLE"),
    )
    keywords = tuple(
        sorted(
            {LangString(k, "en") for k in spec.keywords_en} | {LangString(k, "nb") for k in spec.keywords_nb},
            key=lambda k: (k.lang, k.value),
        )
    )
    return DatasetRecord(
        identifier=spec.identifier,
        iri=iri,
        title=spec.title,
        description=spec.description,
        access_rights=eu("access-right", "NON_PUBLIC"),
        applicable_legislation=(EHDS_ELI,),
        themes=(eu("data-theme", "HEAL"),),
        health_categories=tuple(sorted(spec.health_categories)),
        health_themes=tuple(sorted(spec.health_themes)),
        keywords=keywords,
        dataset_type=eu("dataset-type", "STATISTICAL"),
        publisher=fhi(),
        hdab=hdab_agent(base_url),
        custodian=fhi(),
        contact_points=(ContactPoint(url="https://www.fhi.no/"),),
        distributions=(access, statistics),
        provenance=_t(
            f"Reported by the health services to the {registry}, kept by the Norwegian Institute of Public"
            " Health, which versions every record: a record can change after it was first reported.",
            f"Rapportert fra helsetjenesten til {registry_nb}, forvaltet av Folkehelseinstituttet, som"
            " versjonerer hver opplysning: en opplysning kan endres etter at den først ble rapportert.",
        ),
        has_structured_data=True,
        variables=TableGroup(
            title=_t(f"Variables of {spec.title.en}", f"Variabler i {spec.title.nb}"),
            tables=(
                Table(
                    name=spec.table,
                    title=spec.table_title,
                    columns=tuple(sorted((v.column() for v in spec.variables), key=lambda c: c.name)),
                ),
            ),
        ),
        coding_systems=tuple(sorted(spec.coding_systems)),
        temporal=(PeriodOfTime(start=spec.start),) if spec.start else (),
        spatial=(eu("country", "NOR"),),
        population_coverage=spec.population,
        min_typical_age=spec.min_age,
        max_typical_age=spec.max_age,
        purposes=(
            Purpose(
                _t(
                    "Secondary use for the purposes permitted by EHDS Article 53(1): public health, policy,"
                    " official statistics, education, scientific research and improving care.",
                    "Sekundærbruk til formålene EHDS artikkel 53(1) tillater: folkehelse, politikk, offisiell"
                    " statistikk, utdanning, forskning og bedre helsehjelp.",
                )
            ),
        ),
        legal_bases=(
            LegalBasis(
                _t(
                    "A central health registry under the Health Registry Act (helseregisterloven); made"
                    " available for secondary use under the EHDS, Regulation (EU) 2025/327.",
                    "Sentralt helseregister etter helseregisterloven; tilgjengeliggjort for sekundærbruk"
                    " etter EHDS, forordning (EU) 2025/327.",
                ),
                source=HEALTH_REGISTRY_ACT,
            ),
        ),
        personal_data=tuple(
            sorted(
                f"https://w3id.org/dpv/dpv-pd#{term}"
                for term in ("Age", "Gender", "HealthRecord", "Location", "MedicalHealth")
            )
        ),
        frequency=spec.frequency,
        languages=(eu("language", "NOR"),),
        generated_by=Activity(
            type=health("health-activity", spec.activity),
            label=_t(f"Reporting to the {registry}", f"Rapportering til {registry_nb}"),
        ),
        landing_page=page,
        is_authoritative=True,
    )


def seed_records(base_url: str) -> list[DatasetRecord]:
    """The eight seed datasets, their IRIs under ``base_url``."""
    return [canonical(_record(spec, base_url.rstrip("/"))) for spec in SPECS]
