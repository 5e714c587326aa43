"""Plain words for the workflow's codes: statuses, commands, events, deadlines, fields and errors.

Each text is an English msgid marked with ``N_()``; the pages translate it with the request's
catalogue (``hdab/locale``), so Bokmål and English come from one place.
"""

from __future__ import annotations

import re

from hdab.applications.domain import Purpose, Status
from hdab.core.i18n import N_, format_date, translate

PURPOSES: dict[Purpose, str] = {
    Purpose.PUBLIC_HEALTH: N_("(a) public interest in public and occupational health"),
    Purpose.POLICY: N_("(b) policy making and regulation"),
    Purpose.OFFICIAL_STATISTICS: N_("(c) official statistics"),
    Purpose.EDUCATION: N_("(d) education and teaching"),
    Purpose.RESEARCH: N_("(e) scientific research, including innovation"),
    Purpose.IMPROVING_CARE: N_("(f) improving care and treatment"),
}

STATUSES: dict[Status, str] = {
    Status.DRAFT: N_("Draft"),
    Status.SUBMITTED: N_("Received"),
    Status.PRE_SCREENING: N_("Checking completeness"),
    Status.AWAITING_ADDITIONAL_INFORMATION: N_("Waiting for information from the applicant"),
    Status.PROCESSING: N_("Being assessed"),
    Status.AWAITING_FEE_ACCEPTANCE: N_("Waiting for the applicant to accept the fee"),
    Status.DECISION_ISSUED: N_("Decision made"),
    Status.CLOSED_INCOMPLETE: N_("Closed as incomplete"),
    Status.WITHDRAWN: N_("Withdrawn"),
    Status.ANSWERED: N_("Answered"),
    Status.APPEALED: N_("Appealed"),
    Status.APPEAL_APPROVED: N_("Appeal upheld"),
    Status.APPEAL_REJECTED: N_("Appeal not upheld"),
    Status.GRANTED: N_("Permit granted"),
    Status.AMENDMENT_REQUESTED: N_("Change requested"),
    Status.AMENDED: N_("Changed"),
    Status.RENEWAL_REQUESTED: N_("Extension requested"),
    Status.RENEWED: N_("Extended"),
    Status.EXPIRED: N_("Expired"),
    Status.REVOKED: N_("Revoked"),
}

DECISIONS = {"POSITIVE": N_("approved"), "NEGATIVE": N_("refused")}

# command -> (its button, what it does in one sentence)
COMMANDS: dict[str, tuple[str, str]] = {
    "submit": (N_("Submit"), N_("Send the application to the access body.")),
    "start-pre-screening": (
        N_("Start checking completeness"),
        N_("Take the case and check that the application is complete."),
    ),
    "request-information": (
        N_("Ask the applicant for information"),
        N_("The applicant may then change the application and answer (Art. 68(4))."),
    ),
    "provide-information": (N_("Send the information asked for"), N_("Answer the access body's request.")),
    "start-processing": (
        N_("Start the assessment"),
        N_("The application is complete; the decision deadline starts (Art. 68(4))."),
    ),
    "estimate-fee": (N_("Estimate the fee"), N_("Tell the applicant what access will cost (Art. 62).")),
    "accept-fee": (N_("Accept the fee"), N_("Accept the estimated fee so that the assessment can go on.")),
    "withdraw": (N_("Withdraw the application"), N_("The case is closed; it cannot be reopened.")),
    "record-assessment": (
        N_("Record the assessment"),
        N_("Assess each criterion of Art. 68(1) and the risks of Art. 68(2)."),
    ),
    "extend-deadline": (
        N_("Extend the decision deadline"),
        N_("Once, by up to two months, with the reason (Art. 68(4))."),
    ),
    "approve": (N_("Approve and issue the permit"), N_("The permit is signed and the data holder is asked.")),
    "refuse": (N_("Refuse the application"), N_("The applicant is told why and may appeal.")),
    "appeal": (N_("Appeal the decision"), N_("Within three weeks of the decision (forvaltningsloven § 29).")),
    "decide-appeal": (N_("Decide the appeal"), N_("Uphold the appeal or not, with the reasons.")),
    "mark-answered": (N_("Mark the request as answered"), N_("The statistics have been delivered.")),
    "close-incomplete": (N_("Close as incomplete"), N_("The applicant did not complete in time.")),
    "update-draft": (N_("Save the draft"), N_("Change the application.")),
    "amend": (N_("Ask to change the permit"), N_("Ask for a narrower data specification.")),
    "approve-amendment": (N_("Approve the change"), N_("A new version of the permit is issued.")),
    "refuse-amendment": (N_("Refuse the change"), N_("The permit stays as it is.")),
    "extend": (N_("Ask to extend the permit"), N_("Ask for a later end date.")),
    "approve-extension": (N_("Approve the extension"), N_("A new version of the permit is issued.")),
    "refuse-extension": (N_("Refuse the extension"), N_("The permit ends as planned.")),
    "revoke": (N_("Revoke the permit"), N_("The permit ends now and the data are deleted (Art. 63).")),
    "expire": (N_("End the permit"), N_("The permit has reached its end date.")),
}

# event type -> what happened, said in the past tense
EVENTS: dict[str, str] = {
    "created": N_("The application was started"),
    "draft_updated": N_("The draft was saved"),
    "submitted": N_("The application was submitted"),
    "pre_screening_started": N_("The access body started checking completeness"),
    "information_requested": N_("The access body asked for more information"),
    "information_provided": N_("The applicant sent the information asked for"),
    "processing_started": N_("The assessment started"),
    "fee_estimated": N_("The fee was estimated"),
    "fee_accepted": N_("The applicant accepted the fee"),
    "withdrawn": N_("The application was withdrawn"),
    "assessment_recorded": N_("The assessment was recorded"),
    "deadline_extended": N_("The decision deadline was extended"),
    "approved": N_("The application was approved and the permit issued"),
    "refused": N_("The application was refused"),
    "appealed": N_("The decision was appealed"),
    "appeal_decided": N_("The appeal was decided"),
    "closed_incomplete": N_("The case was closed as incomplete"),
    "answered": N_("The statistics request was answered"),
    "amendment_requested": N_("A change of the permit was asked for"),
    "amendment_approved": N_("The change of the permit was approved"),
    "amendment_refused": N_("The change of the permit was refused"),
    "extension_requested": N_("An extension of the permit was asked for"),
    "extension_approved": N_("The extension of the permit was approved"),
    "extension_refused": N_("The extension of the permit was refused"),
    "revoked": N_("The permit was revoked"),
    "expired": N_("The permit expired"),
}

DEADLINES: dict[str, str] = {
    "completion": N_("The applicant completes the application"),
    "decision": N_("Decision"),
    "answer": N_("Answer to the statistics request"),
    "publication": N_("Publication in the register"),
    "appeal": N_("Last day to appeal"),
    "permit_expiry": N_("The permit ends"),
    "data_deletion": N_("The data are deleted"),
}

# the inputs of the command forms: label and, where useful, a hint
FIELDS: dict[str, str] = {
    "message": N_("Message"),
    "reason": N_("Reason"),
    "reasons": N_("Reasons"),
    "risks": N_("Risks weighed under Art. 68(2)"),
    "conditions": N_("Conditions of the permit, one per line"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "valid_until": N_("Valid until"),
    "environment": N_("Secure processing environment"),
    "upheld": N_("The appeal is upheld"),
    "criteria": N_("The criteria of Art. 68(1)"),
}

# Art. 68(1): what each criterion asks, in full (DOMAIN.md)
CRITERIA: dict[str, str] = {
    "a": N_("(a) The purpose is one of those in Art. 53(1)."),
    "b": N_("(b) The data requested are necessary, adequate and proportionate to the purpose."),
    "c": N_(
        "(c) The processing has a legal basis under GDPR Art. 6(1), and pseudonymised data are"
        " sufficiently justified."
    ),
    "d": N_("(d) The applicant has the qualifications and expertise the use needs."),
    "e": N_("(e) The technical and organisational measures against misuse are sufficient."),
    "f": N_("(f) The ethics information complies with national law."),
    "g": N_("(g) An exception from the opt-out is justified where one is relied on."),
    "h": N_("(h) All other requirements of Chapter IV are met."),
}

GENERALISATIONS: dict[str, str] = {
    "birth_date_to_year": N_("Birth date to the year"),
    "municipality_to_county": N_("Municipality to the county"),
    "dates_to_month": N_("Dates to the month"),
}
SCHEDULES: dict[str, str] = {
    "yearly": N_("Every year"),
    "tertial": N_("Three times a year (tertial)"),
    "monthly": N_("Every month"),
    "weekly": N_("Every week"),
    "daily": N_("Every day"),
}
MODES: dict[str, str] = {
    "snapshot": N_("All the data each time"),
    "changes": N_("Only what changed since the last delivery"),
}
MEASURES: dict[str, str] = {"persons": N_("Number of persons"), "records": N_("Number of records")}
KINDS: dict[str, str] = {
    "access": N_("Data permit (Art. 67)"),
    "statistics": N_("Statistics request (Art. 69)"),
}

# The form's and the workflow's messages (hdab.applications.forms and handlers) said the same in
# both languages: exact texts first, then the ones that carry a value.
ERRORS: dict[str, str] = {
    m: m
    for m in (
        N_("give the application a title"),
        N_("describe in detail how the data will be used (Art. 67(c))"),
        N_("describe the expected benefit (Art. 67(c))"),
        N_("describe the safeguards against misuse (Art. 67(g))"),
        N_("describe the tools and computing resources you need (Art. 67(i))"),
        N_("give the ethics assessment, or say why national law requires none (Art. 67(j))"),
        N_("name the legal basis under GDPR Art. 6(1) (Art. 68(1)(c))"),
        N_("give the request a title"),
        N_("describe the intended use (Art. 69(2)(b))"),
        N_("describe the statistical content you need (Art. 69(2)(d))"),
        N_("describe the safeguards against misuse (Art. 69(2)(e))"),
        N_("name the legal basis under GDPR Art. 6(1) (Art. 69(2)(f))"),
        N_("name the applicant organisation"),
        N_("state your professional function (Art. 69(2)(a))"),
        N_("choose the purpose under Art. 53(1), (a) to (f)"),
        N_("each person may be named only once"),
        N_("give the period for which you need access (Art. 67(h))"),
        N_("declare that none of the prohibited uses of Art. 54 applies"),
        N_("choose at least one dataset and its variables"),
        N_("describe at least one table you want"),
        N_("the period ends before it starts"),
        N_("assess this criterion of Art. 68(1)"),
        N_("give the date the permit is valid until"),
        N_("the permit must end in the future"),
        N_("must be after today"),
        N_("required"),
        N_("Field required"),
        N_("a permit needs at least one authorised person"),
        N_("the draft is not valid; see errors"),
        N_("the application cannot be submitted yet; see errors"),
        N_("Art. 68(1) has criteria a to h only"),
        N_("the application is not complete; see errors"),
        N_("the assessment is not valid; see errors"),
        N_("the decision deadline has already been extended once (Art. 68(4))"),
        N_("record the assessment before deciding"),
        N_("only a refusal can be appealed"),
        N_("you made the decision under appeal; another decision maker must review it"),
        N_("only an approved statistics request is answered"),
        N_("say what to change: specification, persons or conditions"),
        N_("the amendment is not valid; see errors"),
        N_("a permit can be extended only once (Art. 68(12))"),
        N_("the new end date must be after the current one"),
        N_("the completed application is not valid; see errors"),
        N_("only applicants create applications"),
        N_("another command changed this application at the same moment; reload and try again"),
        N_("too early"),
        N_("recurring deliveries are for public-sector bodies (Art. 67(5))"),
        N_("the study population may not change"),
        N_("the recurrence may be kept or removed, not changed"),
        N_("name the persons who will access the data, principal investigator first"),
        N_("explain why anonymised data cannot serve your purpose (Art. 66(3), 67(e))"),
        N_("statistics are answered only in anonymised form (Art. 69(1))"),
        N_("the period may only be shortened"),
        N_("anonymised data may not become pseudonymised"),
        N_("the study population may not become everyone"),
        N_("generalisations may be added, not removed"),
    )
}
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^the applicant has until (?P<date>[0-9-]+) to complete the application \(Art\. 68\(4\)\)$"
        ),
        N_("the applicant has until %(date)s to complete the application (Art. 68(4))"),
    ),
    (
        re.compile(
            r"^criteria (?P<criteria>[a-h, ]+) of Art\. 68\(1\) are not met; a permit cannot be issued$"
        ),
        N_("criteria %(criteria)s of Art. 68(1) are not met; a permit cannot be issued"),
    ),
    (
        re.compile(r"^a permit or extension is valid for at most (?P<n>\d+) years \(Art\. 68\(12\)\)$"),
        N_("a permit or extension is valid for at most %(n)s years (Art. 68(12))"),
    ),
    (
        re.compile(r"^the time to appeal ended on (?P<date>[0-9-]+) \(3 weeks after the decision\)$"),
        N_("the time to appeal ended on %(date)s (3 weeks after the decision)"),
    ),
    (
        re.compile(r"^at most (?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})$"),
        N_("at most %(date)s"),
    ),
    (
        re.compile(
            r"^purpose \((?P<purpose>[a-f])\) of Art\. 53\(1\) is open only to public-sector bodies"
            r" \(Art\. 53\(2\)\)$"
        ),
        N_("purpose (%(purpose)s) of Art. 53(1) is open only to public-sector bodies (Art. 53(2))"),
    ),
    (
        re.compile(r"^'(?P<dataset>[^']+)' is asked for more than once: ask for each dataset once$"),
        N_("%(dataset)s is asked for more than once: ask for each dataset once"),
    ),
    (
        re.compile(
            r"^say why the study needs everyone in this dataset, not only the study population"
            r" \(at least (?P<n>\d+) characters\)$"
        ),
        N_(
            "say why the study needs everyone in this dataset, not only the study population"
            " (at least %(n)s characters)"
        ),
    ),
    (
        re.compile(r"^the catalogue has no variable '(?P<variable>[^']+)' in dataset '(?P<dataset>[^']+)'$"),
        N_("the catalogue has no variable %(variable)s in dataset %(dataset)s"),
    ),
    (
        re.compile(r"^'(?P<dataset>[^']+)' is not among the datasets asked for$"),
        N_("%(dataset)s is not among the datasets asked for"),
    ),
    (
        re.compile(r"^'(?P<dataset>[^']+)' has no criteria \(code prefixes\) defining a population$"),
        N_("%(dataset)s has no criteria (code prefixes) defining a population"),
    ),
    (
        re.compile(r"^dataset '(?P<dataset>[^']+)' has no variable '(?P<variable>[^']+)'$"),
        N_("dataset %(dataset)s has no variable %(variable)s"),
    ),
    (
        re.compile(r"^the catalogue has no dataset '(?P<dataset>[^']+)'$"),
        N_("the catalogue has no dataset %(dataset)s"),
    ),
    (re.compile(r"^Value error, (?P<detail>.*)$"), N_("%(detail)s")),
    (
        re.compile(r"^String should match pattern '\^\[0-9\]\{9\}\$'$"),
        N_("give the nine digits of an organisation number"),
    ),
    (re.compile(r"^String should match pattern .*$"), N_("the value does not have the expected form")),
    (re.compile(r"^value is not a valid email address.*$"), N_("this is not a valid email address")),
    (re.compile(r"^Input should be a valid date.*$"), N_("give a date as day, month and year")),
    (re.compile(r"^Input should be a valid (number|decimal).*$"), N_("give a number")),
    (re.compile(r"^String should have at most (?P<n>\d+) characters?$"), N_("at most %(n)s characters")),
    (re.compile(r"^List should have at least 1 item.*$"), N_("choose at least one")),
]


def purpose_label(code: str | None, lang: str) -> str:
    if code is None or code not in Purpose._value2member_map_:
        return ""
    return translate(lang, PURPOSES[Purpose(code)])


def status_label(code: str | None, lang: str) -> str:
    if code is None or code not in Status._value2member_map_:
        return ""
    return translate(lang, STATUSES[Status(code)])


def command_label(name: str, lang: str) -> str:
    return translate(lang, COMMANDS[name][0]) if name in COMMANDS else name


def command_help(name: str, lang: str) -> str:
    return translate(lang, COMMANDS[name][1]) if name in COMMANDS else ""


def event_label(kind: str, lang: str) -> str:
    return translate(lang, EVENTS.get(kind, N_("Something else happened")))


def deadline_label(name: str, lang: str) -> str:
    return translate(lang, DEADLINES[name]) if name in DEADLINES else name


def error_text(message: str, lang: str) -> tuple[str, bool]:
    """The message in ``lang``, and whether it is translated (an unknown one is shown as written,
    in English, and its element says so with ``lang="en"``)."""
    if message in ERRORS:
        return translate(lang, message), True
    for pattern, msgid in PATTERNS:
        found = pattern.match(message)
        if found:
            inner = {
                k: error_text(v, lang)[0] if k == "detail" else format_date(v, lang) if k == "date" else v
                for k, v in found.groupdict().items()
            }
            return translate(lang, msgid) % inner, True
    return message, False
