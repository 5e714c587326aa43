"""Given these events, when this command, then these events or this rejection (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hdab.applications import handlers
from hdab.applications.domain import ApplicationForm, CaseType, Decision, Status
from hdab.applications.handlers import Actor, CaseRole, Command, Context, NotPermitted, Rejected
from hdab.applications.state import EVENT_TYPES, FOLDS, CaseState, Event, apply, fold, folds
from hdab.catalog.seed import seed_records
from tests.applications.factories import ALL_MET, access_form, statistics_form

VARIABLES = {r.identifier: frozenset(c.name for c in r.columns) for r in seed_records("http://test")}
CONTEXT = Context(variables=VARIABLES.get, new_permit_id=lambda: "NO-HDAB-2026-TEST")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday

OWNER = Actor("researcher@idp", frozenset({CaseRole.APPLICANT}))
CASEWORKER = Actor("sb@idp", frozenset({CaseRole.CASEWORKER}))
DECIDER = Actor("leder@idp", frozenset({CaseRole.DECISION_MAKER}))
OTHER_DECIDER = Actor("leder2@idp", frozenset({CaseRole.DECISION_MAKER}))
BOTH = Actor("begge@idp", frozenset({CaseRole.CASEWORKER, CaseRole.DECISION_MAKER}))
SYSTEM = Actor("system", frozenset({CaseRole.SYSTEM}))


class Case:
    """A case under test: the events so far, and a clock that moves on a day per command by default."""

    def __init__(self, kind: CaseType = CaseType.ACCESS, form: dict[str, Any] | None = None) -> None:
        self.kind = kind
        form = form or (access_form() if kind is CaseType.ACCESS else statistics_form())
        self.at = T0
        self.events = [Event("created", OWNER.id, T0, {"kind": kind.value, "form": form})]

    @property
    def state(self) -> CaseState:
        return fold("case-1", self.kind, OWNER.id, self.events)

    def when(
        self, actor: Actor, name: str, body: dict[str, Any] | None = None, *, days: float = 1
    ) -> list[Event]:
        self.at += timedelta(days=days)
        payload = handlers.PAYLOADS[name].model_validate(body or {})
        new = handlers.decide(self.state, Command(name, actor, self.at, payload), CONTEXT)
        self.events.extend(new)
        return new

    def given(self, *steps: tuple[Actor, str, dict[str, Any] | None]) -> Case:
        for actor, name, body in steps:
            self.when(actor, name, body)
        return self


SUBMITTED = [(OWNER, "submit", None)]
PROCESSING = [*SUBMITTED, (CASEWORKER, "start-pre-screening", None), (CASEWORKER, "start-processing", None)]
ASSESSED = [
    *PROCESSING,
    (CASEWORKER, "estimate-fee", {"amount": "12000", "currency": "NOK"}),
    (OWNER, "accept-fee", None),
    (CASEWORKER, "record-assessment", {"criteria": ALL_MET, "risks": "none found"}),
]
GRANTED = [
    *ASSESSED,
    (DECIDER, "approve", {"valid_until": "2029-12-31", "conditions": ["publish within 18 months"]}),
]


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def test_every_command_has_a_handler_and_a_payload() -> None:
    assert set(handlers.HANDLERS) == set(handlers.PAYLOADS)
    commands_in_table = {c for row in handlers.PERMISSIONS.values() for cmds in row.values() for c in cmds}
    assert commands_in_table == set(handlers.HANDLERS)


def test_every_status_has_a_row_in_the_permission_table() -> None:
    assert set(handlers.PERMISSIONS) == set(Status)


def test_every_event_a_handler_emits_is_folded() -> None:
    case = Case().given(*GRANTED)
    assert set(types(case.events)) <= EVENT_TYPES


def test_every_event_type_has_exactly_one_fold() -> None:
    assert set(FOLDS) == EVENT_TYPES
    with pytest.raises(ValueError, match="folded already"):
        folds("approved")(lambda state, event: None)
    assert FOLDS["approved"].__name__ == "_approved"  # the refused second fold left no trace


def test_an_unknown_event_type_fails_loudly() -> None:
    state = Case().state
    with pytest.raises(ValueError, match="unknown event type 'reopened'"):
        apply(state, Event("reopened", OWNER.id, T0))


def test_submit_moves_a_complete_draft_to_submitted_and_keeps_the_form() -> None:
    case = Case()
    assert types(case.when(OWNER, "submit")) == ["submitted"]
    assert case.state.status is Status.SUBMITTED
    assert case.events[-1].data["form"]["title"] == "Hip fractures and waiting times"


def test_submit_of_an_incomplete_draft_names_every_missing_field() -> None:
    case = Case(form={"title": "Half done"})
    with pytest.raises(Rejected) as caught:
        case.when(OWNER, "submit")
    assert caught.value.status == 422
    fields = {e.field for e in caught.value.errors}
    assert {"use_description", "purpose", "persons", "art54_declaration", "specification.datasets"} <= fields


def test_purposes_a_to_c_are_only_for_public_sector_bodies_art53_2() -> None:
    form = access_form(purpose="b", applicant={"organisation_name": "Pharma AS", "public_sector": False})
    with pytest.raises(Rejected) as caught:
        Case(form=form).when(OWNER, "submit")
    assert any(e.field == "purpose" and "53(2)" in e.message for e in caught.value.errors)


def test_pseudonymised_data_need_a_justification_art66() -> None:
    form = access_form()
    form["specification"]["datasets"][0]["pseudonymised"] = True
    with pytest.raises(Rejected) as caught:
        Case(form=form).when(OWNER, "submit")
    assert [e.field for e in caught.value.errors] == ["pseudonymisation_justification"]


def test_unknown_dataset_and_variable_are_named() -> None:
    form = access_form()
    form["specification"]["datasets"][0]["variables"] = ["hovedtilstand", "fodselsnummer"]
    form["specification"]["datasets"].append({"dataset": "npr-nothing", "variables": ["x"]})
    with pytest.raises(Rejected) as caught:
        Case(form=form).when(OWNER, "submit")
    messages = " ".join(e.message for e in caught.value.errors)
    assert "'fodselsnummer'" in messages and "'npr-nothing'" in messages


def test_statistics_requests_cannot_ask_for_pseudonymised_data_art69() -> None:
    form = statistics_form()
    form["specification"]["datasets"] = [
        {"dataset": "npr-somatikk", "variables": ["kjonn"], "pseudonymised": True}
    ]
    with pytest.raises(Rejected) as caught:
        Case(CaseType.STATISTICS, form).when(OWNER, "submit")
    assert any("69(1)" in e.message for e in caught.value.errors)


def test_recurring_access_is_for_public_bodies_art67_5() -> None:
    form = access_form(applicant={"organisation_name": "Firma AS", "public_sector": False})
    form["specification"]["recurrence"] = {"schedule": "monthly", "recipient_organisation": "971526920"}
    with pytest.raises(Rejected) as caught:
        Case(form=form).when(OWNER, "submit")
    assert any(e.field == "specification.recurrence" for e in caught.value.errors)


def test_information_request_and_answer_go_to_and_from_awaiting() -> None:
    case = Case().given(*SUBMITTED, (CASEWORKER, "start-pre-screening", None))
    assert types(case.when(CASEWORKER, "request-information", {"message": "Add the REK number"})) == [
        "information_requested"
    ]
    assert case.state.status is Status.AWAITING_ADDITIONAL_INFORMATION
    assert types(case.when(OWNER, "provide-information", {"message": "REK 2026/1"})) == [
        "information_provided"
    ]
    assert case.state.status is Status.PRE_SCREENING


def test_provided_information_may_complete_the_form() -> None:
    case = Case().given(*SUBMITTED, (CASEWORKER, "start-pre-screening", None))
    case.when(CASEWORKER, "request-information", {"message": "Which tools?"})
    form = ApplicationForm.model_validate(access_form(tools="Stata 18")).model_dump(mode="json")
    case.when(OWNER, "provide-information", {"message": "Stata", "form": form})
    assert case.state.form.tools == "Stata 18"


def test_start_processing_starts_the_decision_clock_art68_4() -> None:
    case = Case().given(*PROCESSING)
    assert case.state.status is Status.PROCESSING
    assert case.state.processing_started_at == case.at


def test_a_fee_estimate_waits_for_acceptance_art62_5() -> None:
    case = Case().given(*PROCESSING)
    case.when(CASEWORKER, "estimate-fee", {"amount": "5000", "currency": "NOK"})
    assert case.state.status is Status.AWAITING_FEE_ACCEPTANCE
    case.when(OWNER, "accept-fee")
    assert case.state.status is Status.PROCESSING and case.state.fee_accepted


def test_a_zero_fee_needs_no_acceptance() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "estimate-fee", {"amount": "0"}))
    assert case.state.status is Status.PROCESSING and case.state.fee_settled


def test_no_positive_decision_before_the_fee_is_accepted_art62_5() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "record-assessment", {"criteria": ALL_MET}))
    with pytest.raises(Rejected, match="estimate the fee"):
        case.when(DECIDER, "approve", {"valid_until": "2029-12-31"})
    case.when(CASEWORKER, "estimate-fee", {"amount": "100"})
    with pytest.raises(Rejected, match="not possible while the case is AWAITING_FEE_ACCEPTANCE"):
        case.when(DECIDER, "approve", {"valid_until": "2029-12-31"})


def test_the_applicant_may_withdraw_instead_of_accepting_the_fee() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "estimate-fee", {"amount": "100"}))
    assert types(case.when(OWNER, "withdraw", {"reason": "too expensive"})) == ["withdrawn"]
    assert case.state.status is Status.WITHDRAWN


def test_assessment_must_cover_criteria_a_to_h_art68_1() -> None:
    case = Case().given(*PROCESSING)
    with pytest.raises(Rejected) as caught:
        case.when(CASEWORKER, "record-assessment", {"criteria": {"a": {"met": True}}})
    assert {e.field for e in caught.value.errors} == {f"criteria.{k}" for k in "bcdefgh"}


def test_the_caseworker_may_narrow_but_not_widen_the_specification() -> None:
    case = Case().given(*PROCESSING)
    narrowed = access_form()["specification"]
    narrowed["datasets"][0]["variables"] = ["hovedtilstand", "kjonn"]
    narrowed["datasets"][0]["period"] = {"start": "2022-01-01", "end": "2024-12-31"}
    case.when(CASEWORKER, "record-assessment", {"criteria": ALL_MET, "specification": narrowed})
    assert case.state.specification.datasets[0].variables == ("hovedtilstand", "kjonn")
    widened = access_form()["specification"]
    widened["datasets"][0]["variables"] = ["hovedtilstand", "kommunenummer"]
    with pytest.raises(Rejected) as caught:
        case.when(CASEWORKER, "record-assessment", {"criteria": ALL_MET, "specification": widened})
    assert "kommunenummer" in caught.value.errors[0].message


def test_approval_issues_permit_version_1() -> None:
    case = Case().given(*ASSESSED)
    assert types(case.when(DECIDER, "approve", {"valid_until": "2029-12-31"})) == ["approved"]
    state = case.state
    assert state.status is Status.DECISION_ISSUED and state.decision is Decision.POSITIVE
    assert state.permit_status is Status.GRANTED and state.permit_id == "NO-HDAB-2026-TEST"
    permit = state.current_permit
    assert permit is not None and permit.version == 1
    assert permit.delete_data_by == date(2030, 6, 30)  # Art. 68(12): expiry + 6 months
    assert permit.persons[0].email == "pi@uio.no"  # principal investigator first
    assert permit.fee_amount == 12000


def test_approval_needs_every_criterion_met() -> None:
    criteria = {**ALL_MET, "b": {"met": False, "note": "more data than needed"}}
    case = Case().given(*PROCESSING, (CASEWORKER, "estimate-fee", {"amount": "0"}))
    case.when(CASEWORKER, "record-assessment", {"criteria": criteria})
    with pytest.raises(Rejected, match="criteria b"):
        case.when(DECIDER, "approve", {"valid_until": "2029-12-31"})
    assert types(case.when(DECIDER, "refuse", {"reasons": "Art. 68(1)(b) not met"})) == ["refused"]


def test_a_permit_lasts_at_most_ten_years_art68_12() -> None:
    case = Case().given(*ASSESSED)
    with pytest.raises(Rejected, match="at most 10 years") as caught:
        case.when(DECIDER, "approve", {"valid_until": "2037-01-01"})
    assert caught.value.status == 422


def test_four_eyes_the_assessor_cannot_decide_even_holding_both_roles() -> None:
    case = Case().given(
        *PROCESSING,
        (CASEWORKER, "estimate-fee", {"amount": "0"}),
        (BOTH, "record-assessment", {"criteria": ALL_MET}),
    )
    for command, body in (("approve", {"valid_until": "2029-12-31"}), ("refuse", {"reasons": "no"})):
        with pytest.raises(Rejected, match="four eyes") as caught:
            case.when(BOTH, command, body)
        assert caught.value.status == 403
    assert types(case.when(DECIDER, "approve", {"valid_until": "2029-12-31"})) == ["approved"]


def test_a_role_that_may_never_use_a_command_is_not_permitted() -> None:
    case = Case().given(*ASSESSED)
    with pytest.raises(NotPermitted, match="'approve' is for decision_maker"):
        case.when(CASEWORKER, "approve", {"valid_until": "2029-12-31"})
    with pytest.raises(NotPermitted):
        case.when(OWNER, "record-assessment", {"criteria": ALL_MET})


def test_a_command_not_allowed_now_is_a_conflict_naming_the_status() -> None:
    case = Case()
    with pytest.raises(Rejected) as caught:
        case.when(CASEWORKER, "start-processing")
    assert caught.value.status == 409 and "DRAFT" in caught.value.message


def test_the_decision_deadline_can_be_extended_once_art68_4() -> None:
    case = Case().given(*PROCESSING)
    case.when(CASEWORKER, "extend-deadline", {"reason": "complex linkage"})
    with pytest.raises(Rejected, match="once"):
        case.when(DECIDER, "extend-deadline", {"reason": "again"})


def test_a_refusal_can_be_appealed_within_three_weeks() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "record-assessment", {"criteria": ALL_MET}))
    case.when(DECIDER, "refuse", {"reasons": "risk to public security (Art. 68(2))"})
    case.when(OWNER, "appeal", {"reasons": "the risk is overstated"}, days=20)
    assert case.state.status is Status.APPEALED
    with pytest.raises(Rejected, match="made the decision under appeal"):
        case.when(DECIDER, "decide-appeal", {"upheld": True, "reasons": "x"})
    case.when(OTHER_DECIDER, "decide-appeal", {"upheld": True, "reasons": "security risk is manageable"})
    assert case.state.status is Status.APPEAL_APPROVED
    # an upheld appeal returns the case for a new decision
    assert "approve" in handlers.allowed_commands(case.state, DECIDER.roles)


def test_an_appeal_after_three_weeks_is_refused() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "record-assessment", {"criteria": ALL_MET}))
    case.when(DECIDER, "refuse", {"reasons": "no"})
    with pytest.raises(Rejected, match="time to appeal ended"):
        case.when(OWNER, "appeal", {"reasons": "late"}, days=30)


def test_incomplete_case_closes_only_after_four_weeks_art68_4() -> None:
    case = Case().given(*SUBMITTED, (CASEWORKER, "start-pre-screening", None))
    case.when(CASEWORKER, "request-information", {"message": "?"})
    with pytest.raises(Rejected, match="has until"):
        case.when(SYSTEM, "close-incomplete", days=27)
    # requested Thursday 5 March: 4 weeks end on Maundy Thursday 2 April, so on Tuesday 7 April
    with pytest.raises(Rejected, match="has until 2026-04-07"):
        case.when(SYSTEM, "close-incomplete", days=6)
    assert types(case.when(SYSTEM, "close-incomplete", days=1)) == ["closed_incomplete"]
    assert case.state.status is Status.CLOSED_INCOMPLETE


def test_statistics_approval_issues_no_permit_and_is_answered() -> None:
    case = Case(CaseType.STATISTICS).given(*ASSESSED)
    case.when(DECIDER, "approve", {})
    state = case.state
    assert state.decision is Decision.POSITIVE and state.permit_id is None
    case.when(SYSTEM, "mark-answered")
    assert case.state.status is Status.ANSWERED


def test_amendment_produces_a_new_version() -> None:
    case = Case().given(*GRANTED)
    spec = access_form()["specification"]
    spec["datasets"].append({"dataset": "kpr-kuhr", "variables": ["hoveddiagnose"]})
    case.when(OWNER, "amend", {"reason": "add GP diagnoses", "specification": spec})
    assert case.state.permit_status is Status.AMENDMENT_REQUESTED
    case.when(DECIDER, "approve-amendment")
    state = case.state
    assert state.permit_status is Status.AMENDED
    assert [v.version for v in state.permit_versions] == [1, 2]
    assert state.permit_versions[1].specification.dataset_identifiers() == ("npr-somatikk", "kpr-kuhr")
    assert state.permit_versions[1].first_approved_at == state.permit_versions[0].approved_at


def test_extension_once_at_least_a_month_before_expiry_art68_12() -> None:
    case = Case().given(*GRANTED)
    case.when(OWNER, "extend", {"valid_until": "2035-12-31", "reason": "follow-up"})
    case.when(DECIDER, "approve-extension")
    state = case.state
    assert state.permit_status is Status.RENEWED and state.current_permit is not None
    assert state.current_permit.valid_until == date(2035, 12, 31)
    with pytest.raises(Rejected):
        case.when(OWNER, "extend", {"valid_until": "2036-12-31", "reason": "again"})


def test_an_extension_asked_for_less_than_a_month_before_expiry_is_refused() -> None:
    case = Case().given(*[*ASSESSED, (DECIDER, "approve", {"valid_until": "2026-04-20"})])
    with pytest.raises(Rejected, match="at least one month before expiry"):
        case.when(OWNER, "extend", {"valid_until": "2027-12-31", "reason": "late"}, days=30)


def test_revocation_and_expiry_end_the_permit() -> None:
    case = Case().given(*GRANTED)
    case.when(DECIDER, "revoke", {"reasons": "breach of conditions (Art. 63)"})
    assert case.state.permit_status is Status.REVOKED
    with pytest.raises(Rejected):
        case.when(OWNER, "amend", {"reason": "x", "conditions": []})
    expiring = Case().given(*[*ASSESSED, (DECIDER, "approve", {"valid_until": "2026-04-20"})])
    with pytest.raises(Rejected, match="valid until"):
        expiring.when(SYSTEM, "expire", days=1)
    expiring.when(SYSTEM, "expire", days=60)
    assert expiring.state.permit_status is Status.EXPIRED


def test_events_take_actor_and_time_from_the_command() -> None:
    case = Case()
    event = case.when(OWNER, "submit")[0]
    assert event.actor == OWNER.id and event.at == case.at


def test_a_draft_is_updated_and_withdrawn_only_by_its_applicant() -> None:
    case = Case(form={"title": "first"})
    assert types(case.when(OWNER, "update-draft", {"title": "second"})) == ["draft_updated"]
    assert case.state.form.title == "second"
    with pytest.raises(NotPermitted):
        case.when(CASEWORKER, "update-draft", {"title": "x"})
    assert types(case.when(OWNER, "withdraw")) == ["withdrawn"]
    with pytest.raises(Rejected, match="WITHDRAWN"):
        case.when(OWNER, "submit")


def test_a_rejected_appeal_ends_the_case() -> None:
    case = Case().given(*PROCESSING, (CASEWORKER, "record-assessment", {"criteria": ALL_MET}))
    case.when(DECIDER, "refuse", {"reasons": "no"})
    case.when(OWNER, "appeal", {"reasons": "please"})
    case.when(OTHER_DECIDER, "decide-appeal", {"upheld": False, "reasons": "the refusal stands"})
    assert case.state.status is Status.APPEAL_REJECTED
    assert handlers.allowed_commands(case.state, OWNER.roles) == []


def test_a_positive_decision_cannot_be_appealed_and_an_access_case_is_not_answered() -> None:
    case = Case().given(*GRANTED)
    with pytest.raises(Rejected, match="GRANTED"):
        case.when(OWNER, "appeal", {"reasons": "x"})
    statistics = Case(CaseType.STATISTICS).given(*ASSESSED, (DECIDER, "approve", {}))
    with pytest.raises(Rejected, match="only a refusal"):
        statistics.when(OWNER, "appeal", {"reasons": "x"})


def test_refused_amendment_and_extension_leave_the_permit_as_it_was() -> None:
    case = Case().given(*GRANTED)
    case.when(OWNER, "amend", {"reason": "more", "conditions": ["none"]})
    case.when(DECIDER, "refuse-amendment", {"reasons": "not needed"})
    assert case.state.permit_status is Status.GRANTED and len(case.state.permit_versions) == 1
    case.when(OWNER, "extend", {"valid_until": "2031-12-31", "reason": "more time"})
    case.when(DECIDER, "refuse-extension", {"reasons": "not justified"})
    assert case.state.permit_status is Status.GRANTED and not case.state.permit_extended
    assert case.state.current_permit is not None and case.state.current_permit.valid_until == date(
        2029, 12, 31
    )


def test_an_amendment_must_say_what_changes_and_stay_within_the_catalogue() -> None:
    case = Case().given(*GRANTED)
    with pytest.raises(Rejected, match="say what to change"):
        case.when(OWNER, "amend", {"reason": "x"})
    spec = access_form()["specification"]
    spec["datasets"][0]["variables"] = ["no_such_column"]
    with pytest.raises(Rejected) as caught:
        case.when(OWNER, "amend", {"reason": "x", "specification": spec})
    assert "no_such_column" in caught.value.errors[0].message


def test_the_scheduler_alone_closes_and_expires() -> None:
    case = Case().given(*GRANTED)
    with pytest.raises(NotPermitted):
        case.when(DECIDER, "expire", days=2000)
    with pytest.raises(NotPermitted):
        Case().given(*SUBMITTED).when(CASEWORKER, "close-incomplete")


def test_the_decision_deadline_is_met_by_the_decision() -> None:
    from hdab.applications.state import case_deadlines

    case = Case().given(*GRANTED)
    decision = next(d for d in case_deadlines(case.state) if d.name == "decision")
    assert decision.met_at == case.state.decided_at and not decision.overdue(case.at + timedelta(days=400))
