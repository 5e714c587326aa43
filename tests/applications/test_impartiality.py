"""Nobody decides their own case (EHDS Art. 55(2), 57): whoever applied for a case, is named in it or
assessed it acts on it as staff in no way that decides it, whatever roles and however many tokens
or identity providers they hold. A person is the same by subject@issuer, verified email or national id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from hdab.applications import api, service
from hdab.applications.handlers import Actor, CaseRole, Rejected
from hdab.core import clock, runtime
from hdab.core.auth import AUDIENCE, Principal, Role, TokenVerifier, TrustedIssuer, principal_from_claims
from hdab.core.devidp import DevIdentityProvider
from hdab.core.settings import Settings
from tests.applications.factories import ALL_MET, People
from tests.applications.test_workflow import CASEWORKER, DECIDER, PROCESSING, Case
from tests.applications.walk import command, create

PID = "01010012356"
OTHER_PID = "15076500565"
APPROVE = {"valid_until": "2029-12-31"}
FOREIGN_ISSUER = "https://idporten.test"


def post(client: TestClient, headers: dict[str, str], case_id: str, name: str, body: Any = None) -> Any:
    return client.post(f"/api/applications/{case_id}/{name}", json=body, headers=headers)


def to_assessed(client: TestClient, people: People, applicant: dict[str, str]) -> str:
    """A case submitted by ``applicant`` and assessed by the caseworker, at no fee."""
    case_id = create(client, applicant)
    command(client, applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    return case_id


def refused(response: Any, reason: str) -> None:
    assert response.status_code == 403, response.text
    assert reason in response.json()["detail"]


# --- the two regressions ------------------------------------------------------------------------


def test_every_assessor_is_barred_from_deciding_not_only_the_last_one() -> None:
    second = Actor("sb2@idp", frozenset({CaseRole.CASEWORKER}))
    both = Actor("begge@idp", frozenset({CaseRole.CASEWORKER, CaseRole.DECISION_MAKER}))
    case = Case().given(
        *PROCESSING,
        (CASEWORKER, "estimate-fee", {"amount": "0"}),
        (both, "record-assessment", {"criteria": ALL_MET}),
        (second, "record-assessment", {"criteria": ALL_MET}),
    )
    for name, body in (("approve", APPROVE), ("refuse", {"reasons": "no"})):
        with pytest.raises(Rejected, match="you assessed this case") as caught:
            case.when(both, name, body)
        assert caught.value.status == 403
    assert [e.type for e in case.when(DECIDER, "approve", APPROVE)] == ["approved"]


def test_a_second_assessment_does_not_let_the_first_assessor_approve_over_the_api(
    client: TestClient, people: People
) -> None:
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    command(client, people.both, case_id, "start-pre-screening")
    command(client, people.both, case_id, "start-processing")
    command(client, people.both, case_id, "estimate-fee", {"amount": "0"})
    command(client, people.both, case_id, "record-assessment", {"criteria": ALL_MET})
    command(client, people.caseworker, case_id, "record-assessment", {"criteria": ALL_MET})
    refused(post(client, people.both, case_id, "approve", APPROVE), "you assessed this case")
    view = client.get(f"/api/applications/{case_id}", headers=people.both).json()
    assert view["permit_status"] is None and "approve" not in view["allowed_commands"]
    assert command(client, people.decision_maker, case_id, "approve", APPROVE)["permit_status"] == "GRANTED"


def test_an_applicant_holding_decision_maker_cannot_approve_their_own_case(
    client: TestClient, people: People
) -> None:
    applicant = people.headers("researcher", Role.APPLICANT, Role.DECISION_MAKER, email="researcher@uio.no")
    case_id = to_assessed(client, people, applicant)
    refused(post(client, applicant, case_id, "approve", APPROVE), "you applied for this case")
    refused(post(client, applicant, case_id, "refuse", {"reasons": "x"}), "you applied for this case")
    view = client.get(f"/api/applications/{case_id}", headers=applicant).json()
    assert view["status"] == "PROCESSING" and view["permit_status"] is None
    assert not {"approve", "refuse", "extend-deadline"} & set(view["allowed_commands"])
    assert "withdraw" in view["allowed_commands"]  # still the applicant


def test_an_applicant_holding_staff_roles_runs_no_staff_command_on_their_case(
    client: TestClient, people: People
) -> None:
    applicant = people.headers("researcher", Role.APPLICANT, Role.CASEWORKER, email="researcher@uio.no")
    case_id = create(client, applicant)
    command(client, applicant, case_id, "submit")
    refused(post(client, applicant, case_id, "start-pre-screening"), "you applied for this case")
    command(client, people.caseworker, case_id, "start-pre-screening")
    for name, body in (("request-information", {"message": "?"}), ("start-processing", None)):
        refused(post(client, applicant, case_id, name, body), "you applied for this case")
    # the same caseworker works on cases that are not theirs
    other = create(client, people.stranger)
    command(client, people.stranger, other, "submit")
    command(client, applicant, other, "start-pre-screening")


# --- the same person through other tokens -------------------------------------------------------


def test_same_verified_email_under_another_subject_is_the_same_person(
    client: TestClient, people: People
) -> None:
    case_id = to_assessed(client, people, people.applicant)
    second_token = people.headers("researcher-at-work", Role.DECISION_MAKER, email="Researcher@UiO.no")
    refused(post(client, second_token, case_id, "approve", APPROVE), "you applied for this case")
    # a person named in the application, signed in with a staff token under their email
    named = people.headers("kari-staff", Role.DECISION_MAKER, email="pi@uio.no")
    refused(post(client, named, case_id, "approve", APPROVE), "you are named in this case")
    # the caseworker who assessed it, under a decision maker's token with the same email
    assessor = people.headers("saksbehandler-leder", Role.DECISION_MAKER, email="sb@hdab.no")
    refused(post(client, assessor, case_id, "approve", APPROVE), "you assessed this case")
    page = client.get(f"/applications/{case_id}", headers=assessor)
    assert page.status_code == 200 and 'id="command-approve"' not in page.text
    command(client, people.decision_maker, case_id, "approve", APPROVE)


def foreign_issuer(client: TestClient, settings: Settings) -> Callable[..., dict[str, str]]:
    """Trust a second identity provider (as ID-porten would be) beside the development one."""
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)

    def to_principal(claims: dict[str, Any]) -> Principal:
        return principal_from_claims(claims, allow_synthetic_ids=True)

    client.app.state.token_verifier = TokenVerifier(  # type: ignore[attr-defined]
        [
            DevIdentityProvider(settings).trusted_issuer(),
            TrustedIssuer(FOREIGN_ISSUER, AUDIENCE, lambda: KeySet([key]), to_principal),
        ]
    )

    def headers(subject: str, *roles: Role, pid: str | None = None, **more: Any) -> dict[str, str]:
        now = int(clock.now().timestamp())
        claims = {
            "iss": FOREIGN_ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 600,
            "roles": [str(r) for r in roles],
            **({"pid": pid} if pid is not None else {}),
            **more,  # email, email_verified
        }
        token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
        return {"Authorization": f"Bearer {token}"}

    return headers


def test_same_national_id_from_another_issuer_is_the_same_person(
    client: TestClient, people: People, seeded: Settings
) -> None:
    foreign = foreign_issuer(client, seeded)
    applicant = {
        "Authorization": "Bearer "
        + people.idp.issue("researcher", [Role.APPLICANT], national_id=PID, email="researcher@uio.no")
    }
    case_id = to_assessed(client, people, applicant)
    # no email, another subject, another issuer: only the national id says who it is
    same_person = foreign("idporten-4242", Role.DECISION_MAKER, pid=PID)
    refused(post(client, same_person, case_id, "approve", APPROVE), "you applied for this case")
    view = client.get(f"/api/applications/{case_id}", headers=same_person).json()
    assert "approve" not in view["allowed_commands"]
    assert PID not in str(view)  # the national id is recorded only as a keyed hash, and not shown
    someone_else = foreign("idporten-4343", Role.DECISION_MAKER, pid=OTHER_PID)
    assert command(client, someone_else, case_id, "approve", APPROVE)["permit_status"] == "GRANTED"


def test_an_assessor_under_another_issuer_does_not_decide_appeals_or_permits(
    client: TestClient, people: People, seeded: Settings
) -> None:
    foreign = foreign_issuer(client, seeded)
    assessor_dev = {
        "Authorization": "Bearer "
        + people.idp.issue("sb", [Role.CASEWORKER], national_id=OTHER_PID, email="sb@hdab.no")
    }
    assessor_foreign = foreign("idporten-sb", Role.DECISION_MAKER, pid=OTHER_PID)
    case_id = create(client, people.applicant)
    command(client, people.applicant, case_id, "submit")
    command(client, people.caseworker, case_id, "start-pre-screening")
    command(client, people.caseworker, case_id, "start-processing")
    command(client, people.caseworker, case_id, "estimate-fee", {"amount": "0"})
    command(client, assessor_dev, case_id, "record-assessment", {"criteria": ALL_MET})
    refused(post(client, assessor_foreign, case_id, "approve", APPROVE), "you assessed this case")
    view = command(client, people.decision_maker, case_id, "approve", APPROVE)
    permit_id = view["permit_id"]
    response = client.post(
        f"/api/permits/{permit_id}/revoke", json={"reasons": "breach"}, headers=assessor_foreign
    )
    refused(response, "you assessed this case")
    with runtime.database().session() as session:
        principal = client.app.state.token_verifier.verify(  # type: ignore[attr-defined]
            assessor_foreign["Authorization"].split()[1]
        )
        assert "you assessed" in (api.may_act_as_staff(session, principal, permit_id) or "")
        assert api.may_act_as_staff(session, principal, case_id, deciding=False) is None
        applicant = client.app.state.token_verifier.verify(  # type: ignore[attr-defined]
            people.applicant["Authorization"].split()[1]
        )
        assert "you applied" in (api.may_act_as_staff(session, applicant, permit_id, deciding=False) or "")
        events = service.load(session, case_id).state.events
        assert all(OTHER_PID not in str(e.data) for e in events)  # a keyed hash stands for it
        assert any("pid" in e.data.get("by", {}) for e in events)


@pytest.mark.parametrize("verified", [None, False, "no"])
def test_an_email_the_provider_did_not_verify_makes_nobody_the_same_person(
    client: TestClient, people: People, seeded: Settings, verified: object
) -> None:
    foreign = foreign_issuer(client, seeded)
    claim = {} if verified is None else {"email_verified": verified}
    # two sign-ins sharing an unverified email are not one person: the applicant's ...
    applicant = foreign("idp-ann", Role.APPLICANT, email="ann@uio.no", **claim)
    case_id = to_assessed(client, people, applicant)
    # ... is not barred from deciding someone else's case on that basis, nor is anyone else
    someone = foreign("idp-someone", Role.DECISION_MAKER, email="ann@uio.no", **claim)
    view = client.get(f"/api/applications/{case_id}", headers=someone).json()
    assert "approve" in view["allowed_commands"]
    # an unverified email naming a person of the form binds nobody to the case either
    pi = foreign("idp-kari", Role.APPLICANT, email="pi@uio.no", **claim)
    assert client.get(f"/api/applications/{case_id}", headers=pi).status_code == 404
    assert command(client, someone, case_id, "approve", APPROVE)["permit_status"] == "GRANTED"


def test_an_email_the_provider_verified_makes_two_sign_ins_the_same_person(
    client: TestClient, people: People, seeded: Settings
) -> None:
    foreign = foreign_issuer(client, seeded)
    applicant = foreign("idp-ann", Role.APPLICANT, email="ann@uio.no", email_verified=True)
    case_id = to_assessed(client, people, applicant)
    same = foreign("idp-ann-at-work", Role.DECISION_MAKER, email="Ann@UiO.no", email_verified=True)
    refused(post(client, same, case_id, "approve", APPROVE), "you applied for this case")
    pi = foreign("idp-kari", Role.APPLICANT, email="pi@uio.no", email_verified=True)
    assert client.get(f"/api/applications/{case_id}", headers=pi).status_code == 200  # bound as named
    named = foreign("idp-kari-staff", Role.DECISION_MAKER, email="pi@uio.no", email_verified=True)
    refused(post(client, named, case_id, "approve", APPROVE), "you are named in this case")


# --- the property: no random sequence of commands grants a case to its applicant or assessor ------


# (subject, roles, email, national id, the person it is): some tokens are the same person
POOL: list[tuple[str, tuple[Role, ...], str | None, str | None, str]] = [
    ("ann", (Role.APPLICANT,), "ann@uio.no", None, "Ann"),
    ("ann-at-hdab", (Role.CASEWORKER, Role.DECISION_MAKER), "ann@uio.no", None, "Ann"),
    ("bob", (Role.APPLICANT, Role.DECISION_MAKER), "bob@uio.no", PID, "Bob"),
    ("bob-idporten", (Role.DECISION_MAKER,), None, PID, "Bob"),
    ("kari", (Role.APPLICANT, Role.DECISION_MAKER), "pi@uio.no", None, "Kari"),  # named in the form
    ("sb", (Role.CASEWORKER,), "sb@hdab.no", None, "Siv"),
    ("sb-leder", (Role.DECISION_MAKER,), "sb@hdab.no", None, "Siv"),
    ("leder", (Role.DECISION_MAKER,), "leder@hdab.no", OTHER_PID, "Leif"),
    ("leder-bankid", (Role.DECISION_MAKER, Role.CASEWORKER), None, OTHER_PID, "Leif"),
    ("begge", (Role.CASEWORKER, Role.DECISION_MAKER), None, None, "Berit"),
]
APPLICANTS = [i for i, p in enumerate(POOL) if Role.APPLICANT in p[1]]
# the main path, in order; a step is a (position on the path, who) and steps run sorted by position
PATH: list[tuple[str, dict[str, Any] | None]] = [
    ("start-pre-screening", None),
    ("start-processing", None),
    ("estimate-fee", {"amount": "0"}),
    ("record-assessment", {"criteria": ALL_MET}),
    ("record-assessment", {"criteria": ALL_MET}),
    ("approve", APPROVE),
    ("refuse", {"reasons": "Art. 68(2)"}),
    ("appeal", {"reasons": "please"}),
    ("decide-appeal", {"upheld": True, "reasons": "reconsider"}),
    ("approve", APPROVE),
    ("revoke", {"reasons": "breach"}),
]
PARTY_COMMANDS = {"submit", "appeal", "accept-fee", "provide-information", "withdraw", "amend", "extend"}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    applicant=st.sampled_from(APPLICANTS),
    # for each step of the path, who tries it, in turn, until one succeeds
    attempts=st.lists(
        st.lists(st.integers(0, len(POOL) - 1), min_size=2, max_size=4),
        min_size=len(PATH),
        max_size=len(PATH),
    ),
)
def test_no_sequence_of_commands_grants_a_case_to_who_applied_or_assessed(
    client: TestClient, people: People, applicant: int, attempts: list[list[int]]
) -> None:
    tokens = [
        {"Authorization": "Bearer " + people.idp.issue(sub, list(roles), national_id=pid, email=email)}
        for sub, roles, email, pid, _ in POOL
    ]
    # the oracle: who is on the applicant's side and who assessed, by person
    applied = {POOL[applicant][4], "Kari"}  # Kari is the principal investigator named in the form
    assessed: set[str] = set()
    case_id = create(client, tokens[applicant])
    command(client, tokens[applicant], case_id, "submit")
    for (name, body), tries in zip(PATH, attempts, strict=True):
        for who in tries if name != "appeal" else [applicant, *tries]:
            if name == "revoke":
                permit_id = _permit_of(client, people, case_id)
                if permit_id is None:
                    break
                response = client.post(f"/api/permits/{permit_id}/revoke", json=body, headers=tokens[who])
            else:
                response = post(client, tokens[who], case_id, name, body)
            assert response.status_code in (200, 403, 404, 409, 422), response.text
            person = POOL[who][4]
            if response.status_code == 200:
                if name == "record-assessment":
                    assessed.add(person)
                if name in ("approve", "refuse", "decide-appeal", "revoke"):
                    assert person not in applied | assessed, (name, person, applied, assessed)
                if name in PARTY_COMMANDS:
                    applied.add(person)
                break
    view = client.get(f"/api/applications/{case_id}", headers=people.caseworker).json()
    approvals = [e for e in view["events"] if e["type"] == "approved"]
    event("granted" if view["permit_status"] else f"ended {view['status']}")
    for approval in approvals:
        subject = approval["actor"].split("@urn:")[0]
        decider = next(p[4] for p in POOL if p[0] == subject)
        assert decider not in applied | assessed, (decider, applied, assessed)


def _permit_of(client: TestClient, people: People, case_id: str) -> str | None:
    view = client.get(f"/api/applications/{case_id}", headers=people.caseworker).json()
    permit_id: str | None = view["permit_id"]
    return permit_id
