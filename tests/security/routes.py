"""Who may do what on every route: the declared table the reach matrix checks.

One entry per URL name (``app:name``) and per API operation id. ``read``: the roles whose GET
of the page (or API GET) succeeds on the object *in reach* (street A's, or the one the kind's
owner holds); ``write``: the roles whose POST (or API write) gets past the reach check (a
form error, a redirect, a 409 — anything but 401/403/404/405). ``None`` means the method is
not part of the route. ``effect``: a permitted write really writes (an audit event).
For the twin object *out of reach* the expectation is derived with
``SWAP`` (street A's officer becomes street B's; another department's object loses the
department officer): a role that reaches the inside object must get 404 on the outside one.
Everybody else gets 403 or 404, anonymous visitors the login page (pages) or 401 (API).
Supervisors are in no ``write`` set except for oversight queues (mall flags, contest
sign-off and corrections), as docs/ARCHITECTURE.md says; and a page that is a form is in nobody's
``read`` who cannot submit it (the page answers them 403 before rendering the form).
A module's routes are also tried by its own people (``MODULE_ROLES``); they are named in a set
only where they are let in, and lose the twin of an object of street A or supplier X (``STREET``,
``SUPPLIER``): 404 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN, SUP, OA, OB, DEPT, OUT = "admin", "supervisor", "officer_a", "officer_b", "dept_officer", "outsider"
EVERYONE = frozenset({ADMIN, SUP, OA, OB, DEPT, OUT})
STAFF = frozenset({ADMIN, SUP, OA, OB, DEPT})  # everyone with a membership
NOBODY: frozenset = frozenset()

# The modules' own people (tests/security/factories.py builds them with their module), checked on
# their module's routes besides everybody above: street A's purchaser (经办; the approvers, 审核, are
# the officers) and the supplier whose offers and orders are the inside objects; street A's collector
# (pages in the browser, the API with a device token); the veterans bureau's officer, who reaches the
# whole district; the organiser of the competition (an officer of 卫健委), the judge of the inside
# score sheet and a judge on no panel.
BUYER, SELLER = "purchaser_a", "supplier_x"
COLLECTOR, BUREAU = "collector_a", "veterans_bureau"
ORGANISER, JUDGE, JUDGE_OFF = "organiser", "judge", "judge_other"
MODULE_ROLES = {"mall": (BUYER, SELLER), "veterans": (COLLECTOR, BUREAU), "contest": (ORGANISER, JUDGE, JUDGE_OFF)}

# The twin of a street's object belongs to street B (its purchaser, supplier Y, its collector):
# street A's people lose it; the veterans bureau keeps it (district-wide).
STREET = {OA: OB, OB: OA, BUYER: None, SELLER: None, COLLECTOR: None}
# The twin of a supplier's offer or admission is supplier Y's: supplier X loses it, purchasers keep it.
SUPPLIER = {OA: OB, OB: OA, SELLER: None}
DEPARTMENT = {DEPT: None}
SWAP = {
    "core.unit": STREET, "core.user": STREET, "core.membership": STREET, "core.token": STREET,
    "core.webhook": STREET, "core.job": STREET, "core.nobody": {},
    "invest.firm": DEPARTMENT, "invest.contact": DEPARTMENT, "invest.assessment": DEPARTMENT,
    "invest.squad": DEPARTMENT, "invest.squad_member": DEPARTMENT, "invest.project": DEPARTMENT,
    "invest.document": DEPARTMENT, "invest.appeal": DEPARTMENT, "invest.meeting": DEPARTMENT,
    "invest.task": DEPARTMENT, "invest.parcel": STREET, "invest.drawing": STREET, "invest.building": STREET,
    "invest.street": STREET, "invest.member_user": DEPARTMENT,
    "veterans.team": STREET, "veterans.team_member": STREET, "veterans.training": STREET,
    "veterans.attendance": STREET, "veterans.question": STREET, "veterans.upload": STREET,
    "mall.product": {}, "mall.offer": SUPPLIER, "mall.admission": SUPPLIER, "mall.cartline": STREET,
    "mall.order": STREET, "mall.flag": STREET, "mall.negotiation": STREET,
    "mall.admission_document": SUPPLIER,
    "coal.place": STREET, "coal.inspection": STREET, "coal.photo": STREET, "coal.posting": STREET,
    "coal.rectification": STREET, "coal.campaign": {}, "coal.task": STREET, "coal.batch": {},
    "veterans.record": STREET, "veterans.change": STREET, "veterans.attachment": STREET,
    "veterans.point": STREET, "veterans.slot": STREET, "veterans.appointment": STREET,
    "contest.competition": {}, "contest.event": {}, "contest.item": {}, "contest.contestant": {},
    "contest.sheet": {}, "contest.correction": {}, "contest.result": {}, "contest.appeal": {},
}


@dataclass(frozen=True)
class Spec:
    read: frozenset | None = None
    write: frozenset | None = None
    kinds: dict = field(default_factory=dict)  # URL kwarg -> object kind, or "=value" for a fixed string
    effect: bool = False  # a permitted POST of the page's own form (or the API's minimal body) writes
    public: bool = False  # answers anonymous visitors too (login, health)
    get_ok: frozenset = frozenset({200})  # what a permitted GET answers (some pages redirect)
    # API body fields naming another object -> its kind; they get the inside object's id (a fixed
    # 1 would name an object on SQLite's fresh ids and none on PostgreSQL's)
    body_kinds: dict = field(default_factory=dict)

    @property
    def swap_kind(self) -> str | None:
        for kind in self.kinds.values():
            if not kind.startswith("="):
                return kind
        return None

    @property
    def kinds_with_objects(self) -> bool:
        return self.swap_kind is not None


def S(*roles) -> frozenset:
    return frozenset(roles)


ROUTES: dict[str, Spec] = {
    # --- core --------------------------------------------------------------------------------------
    "api:openapi-json": Spec(read=EVERYONE, public=True),
    "api:openapi-view": Spec(read=EVERYONE, public=True),
    "core:home": Spec(read=EVERYONE),
    "core:login": Spec(read=EVERYONE, public=True, get_ok=S(302)),
    "core:logout": Spec(write=EVERYONE, effect=True),
    "core:password_change": Spec(read=EVERYONE, write=EVERYONE),  # a supervisor changes their own password too
    "core:units": Spec(read=EVERYONE),
    "core:unit": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "core.unit"}),
    "core:unit_create": Spec(read=S(ADMIN), write=S(ADMIN), kinds={"pk": "core.unit"}),
    "core:unit_rename": Spec(read=S(ADMIN), write=S(ADMIN), effect=True, kinds={"pk": "core.unit"}),
    "core:unit_move": Spec(read=S(ADMIN), write=S(ADMIN), kinds={"pk": "core.unit"}),
    "core:unit_retire": Spec(write=S(ADMIN, OA), kinds={"pk": "core.unit"}),
    "core:users": Spec(read=S(ADMIN, SUP)),
    "core:user_create": Spec(read=S(ADMIN), write=S(ADMIN)),
    "core:user": Spec(read=S(ADMIN, SUP), write=S(ADMIN), kinds={"pk": "core.user"}),
    "core:user_toggle_active": Spec(write=S(ADMIN), effect=True, kinds={"pk": "core.user"}),
    "core:membership_remove": Spec(write=S(ADMIN), effect=True, kinds={"pk": "core.membership"}),
    "core:audit": Spec(read=S(ADMIN, SUP)),
    "core:tokens": Spec(read=EVERYONE, write=EVERYONE, effect=True),
    "core:token_revoke": Spec(write=S(OA), effect=True, kinds={"pk": "core.token"}),
    "core:todos": Spec(read=EVERYONE),
    "core:webhooks": Spec(read=EVERYONE, write=S(ADMIN, OA, OB, DEPT)),
    "core:webhook_delete": Spec(write=S(ADMIN, OA), effect=True, kinds={"pk": "core.webhook"}),
    "core:reports": Spec(read=EVERYONE),
    "core:tables": Spec(read=EVERYONE),
    "core:table_template": Spec(read=EVERYONE, kinds={"kind": "=coal-places"}),
    "core:table_import": Spec(read=S(ADMIN, OA, OB, DEPT), write=S(ADMIN, OA, OB, DEPT), kinds={"kind": "=coal-places"}),
    "core:table_job": Spec(read=S(OA), kinds={"pk": "core.job"}),
    "core:table_job_commit": Spec(write=S(OA), kinds={"pk": "core.job"}),
    "core:table_job_download": Spec(read=S(OA), kinds={"pk": "core.job"}),
    "core:health": Spec(read=EVERYONE, public=True),
    "govdesk_core_api_me": Spec(read=EVERYONE),
    "govdesk_core_api_unit_list": Spec(read=EVERYONE),
    "govdesk_core_api_unit_create": Spec(write=NOBODY),
    "govdesk_core_api_unit_get": Spec(read=S(ADMIN, SUP, OA), kinds={"unit_id": "core.unit"}),
    "govdesk_core_api_unit_rename": Spec(write=S(ADMIN), effect=True, kinds={"unit_id": "core.unit"}),
    "govdesk_core_api_unit_move": Spec(write=S(ADMIN), kinds={"unit_id": "core.unit"}),
    "govdesk_core_api_unit_retire": Spec(write=NOBODY, kinds={"unit_id": "core.unit"}),
    "govdesk_core_api_token_list": Spec(read=EVERYONE),
    "govdesk_core_api_token_create": Spec(write=EVERYONE, effect=True),
    "govdesk_core_api_token_revoke": Spec(write=S(OA), effect=True, kinds={"token_id": "core.token"}),
    "govdesk_core_api_todo_list": Spec(read=EVERYONE),
    "govdesk_core_api_audit_list": Spec(read=EVERYONE),
    # --- invest ------------------------------------------------------------------------------------
    "invest:dashboard": Spec(read=EVERYONE),
    "invest:office": Spec(read=S(ADMIN), write=S(ADMIN)),
    "invest:firms": Spec(read=EVERYONE),
    "invest:firm_create": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT)),
    "invest:firm": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.firm"}),
    "invest:firm_edit": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT), effect=True, kinds={"pk": "invest.firm"}),
    "invest:firm_merge": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.firm"}),
    "invest:assessment_create": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT), kinds={"pk": "invest.firm"}),
    "invest:activity_create": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.firm"}),
    "invest:firm_tier_add": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.firm"}),
    "invest:contact_add": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.firm"}),
    "invest:contact_phone": Spec(write=S(ADMIN, SUP, DEPT), effect=True, kinds={"pk": "invest.contact"}),
    "invest:assessments": Spec(read=EVERYONE),
    "invest:assessment": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.assessment"}),
    "invest:squads": Spec(read=EVERYONE),
    "invest:squad": Spec(read=S(ADMIN, SUP, DEPT), write=S(ADMIN, DEPT), kinds={"pk": "invest.squad"}),
    "invest:squad_meeting_create": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.squad"}),
    "invest:squad_member_remove": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"pk": "invest.squad_member"}),
    "invest:projects": Spec(read=EVERYONE),
    "invest:project_create": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT)),
    "invest:project": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.project"}),
    "invest:project_edit": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT), effect=True, kinds={"pk": "invest.project"}),
    "invest:project_move": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.project"}),
    "invest:project_progress": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.project"}),
    "invest:document_upload": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.project"}),
    "invest:document": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.document"}),
    "invest:drawing": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"pk": "invest.drawing"}),
    "invest:drawing_remove": Spec(write=S(ADMIN, OA), effect=True, kinds={"pk": "invest.drawing"}),
    "invest:appeals": Spec(read=EVERYONE, write=S(ADMIN, SUP, DEPT)),  # a list: escalation is the periodic command
    "invest:appeal_create": Spec(read=S(ADMIN, DEPT), write=S(ADMIN, DEPT)),
    "invest:appeal": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.appeal"}),
    "invest:appeal_action": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.appeal", "action": "=reply"}),
    "invest:meetings": Spec(read=EVERYONE, write=S(ADMIN, DEPT), effect=True),
    "invest:meeting": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.meeting"}),
    "invest:meeting_print": Spec(read=S(ADMIN, SUP, DEPT), kinds={"pk": "invest.meeting"}),
    "invest:meeting_minutes": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.meeting"}),
    "invest:task_assign": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.meeting"}),
    "invest:task_close": Spec(write=S(ADMIN, DEPT), kinds={"pk": "invest.meeting", "task_pk": "invest.task"}),
    "invest:carriers": Spec(read=EVERYONE),
    "invest:ledger": Spec(read=EVERYONE, write=EVERYONE, effect=True),
    "invest:parcel_create": Spec(read=S(ADMIN, OA, OB, DEPT), write=S(ADMIN, OA, OB, DEPT)),
    "invest:parcel_edit": Spec(read=S(ADMIN, SUP, OA, DEPT), write=S(ADMIN, OA), effect=True, kinds={"pk": "invest.parcel"}),
    "invest:drawing_upload": Spec(write=S(ADMIN, OA, DEPT), kinds={"pk": "invest.parcel"}),
    "invest:building_create": Spec(read=S(ADMIN, OA, OB, DEPT), write=S(ADMIN, OA, OB, DEPT)),
    "invest:building_edit": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), effect=True, kinds={"pk": "invest.building"}),
    "invest:pitch": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"kind": "=parcel", "pk": "invest.parcel"}),
    "invest:pitch_pdf": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"kind": "=parcel", "pk": "invest.parcel"}),
    "invest:carrier_reports": Spec(read=EVERYONE, write=S(ADMIN, DEPT), effect=True),
    "invest:carrier_report": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"unit_pk": "invest.street"}),
    "govdesk_invest_api_firm_list": Spec(read=EVERYONE),
    "govdesk_invest_api_firm_create": Spec(write=NOBODY),
    "govdesk_invest_api_firm_detail": Spec(read=S(ADMIN, SUP, DEPT), kinds={"firm_id": "invest.firm"}),
    # merging the inside firm into itself is refused (400) for everybody; the outside twin shows who may
    "govdesk_invest_api_firm_merge": Spec(write=S(ADMIN, DEPT), kinds={"firm_id": "invest.firm"},
                                          body_kinds={"duplicate_id": "invest.firm"}),
    "govdesk_invest_api_assessment_create": Spec(write=NOBODY, kinds={"firm_id": "invest.firm"}),
    "govdesk_invest_api_activity_list": Spec(read=S(ADMIN, SUP, DEPT), kinds={"firm_id": "invest.firm"}),
    "govdesk_invest_api_activity_create": Spec(write=NOBODY, kinds={"firm_id": "invest.firm"}),
    "govdesk_invest_api_project_list": Spec(read=EVERYONE),
    "govdesk_invest_api_project_create": Spec(write=NOBODY),
    "govdesk_invest_api_project_detail": Spec(read=S(ADMIN, SUP, DEPT), kinds={"project_id": "invest.project"}),
    "govdesk_invest_api_project_update": Spec(write=NOBODY, kinds={"project_id": "invest.project"}),
    "govdesk_invest_api_project_move": Spec(write=NOBODY, kinds={"project_id": "invest.project"}),
    "govdesk_invest_api_appeal_list": Spec(read=EVERYONE),
    "govdesk_invest_api_appeal_create": Spec(write=NOBODY),
    "govdesk_invest_api_parcel_list": Spec(read=EVERYONE),
    "govdesk_invest_api_parcel_create": Spec(write=NOBODY),
    "govdesk_invest_api_building_list": Spec(read=EVERYONE),
    "govdesk_invest_api_building_create": Spec(write=NOBODY),
    "govdesk_invest_api_appeal_reassign": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"appeal_id": "invest.appeal"}),
    "govdesk_invest_api_appeal_reply": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"appeal_id": "invest.appeal"}),
    "govdesk_invest_api_appeal_resolve": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"appeal_id": "invest.appeal"}),
    "govdesk_invest_api_appeal_rate": Spec(write=NOBODY, kinds={"appeal_id": "invest.appeal"}),
    "govdesk_invest_api_meeting_list": Spec(read=EVERYONE),
    "govdesk_invest_api_meeting_create": Spec(write=S(ADMIN), effect=True),
    "govdesk_invest_api_meeting_detail": Spec(read=S(ADMIN, SUP, DEPT), kinds={"meeting_id": "invest.meeting"}),
    "govdesk_invest_api_meeting_agenda": Spec(read=S(ADMIN, SUP, DEPT), kinds={"meeting_id": "invest.meeting"}),
    "govdesk_invest_api_meeting_minutes": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"meeting_id": "invest.meeting"}),
    "govdesk_invest_api_task_list": Spec(read=EVERYONE),
    "govdesk_invest_api_task_assign": Spec(write=NOBODY, kinds={"meeting_id": "invest.meeting"}),
    "govdesk_invest_api_task_close": Spec(write=S(ADMIN, DEPT), kinds={"task_id": "invest.task"},
                                          body_kinds={"meeting_id": "invest.meeting"}),
    "govdesk_invest_api_squad_list": Spec(read=EVERYONE),
    "govdesk_invest_api_squad_create": Spec(write=NOBODY),
    "govdesk_invest_api_squad_detail": Spec(read=S(ADMIN, SUP, DEPT), kinds={"squad_id": "invest.squad"}),
    "govdesk_invest_api_squad_member_add": Spec(write=NOBODY, kinds={"squad_id": "invest.squad"}),
    "govdesk_invest_api_squad_member_remove": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"squad_id": "invest.squad", "user_id": "invest.member_user"}),
    "govdesk_invest_api_squad_meeting_list": Spec(read=S(ADMIN, SUP, DEPT), kinds={"squad_id": "invest.squad"}),
    "govdesk_invest_api_squad_meeting_record": Spec(write=S(ADMIN, DEPT), effect=True, kinds={"squad_id": "invest.squad"}),
    "govdesk_invest_api_parcel_update": Spec(write=NOBODY, kinds={"parcel_id": "invest.parcel"}),
    "govdesk_invest_api_building_update": Spec(write=S(ADMIN, OA), effect=True, kinds={"building_id": "invest.building"}),
    "govdesk_invest_api_carrier_report_submit": Spec(write=NOBODY),
    "govdesk_invest_api_carrier_report_status": Spec(read=EVERYONE),
    # 400 "no report for the month yet" comes after the reach check: those who get it reach the unit
    "govdesk_invest_api_carrier_report_diff": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"unit_id": "invest.street"}),
    "govdesk_invest_api_pitch_pdf": Spec(read=S(ADMIN, SUP, OA, DEPT), kinds={"kind": "=parcel", "pk": "invest.parcel"}),
    # --- mall --------------------------------------------------------------------------------------
    "mall:dashboard": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:catalogue": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:categories": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:category_new": Spec(read=S(ADMIN), write=S(ADMIN)),
    "mall:product_new": Spec(read=S(ADMIN), write=S(ADMIN)),
    "mall:product": Spec(read=S(ADMIN, SUP, OA, OB, DEPT, BUYER, SELLER), write=S(ADMIN, OA, OB, DEPT), kinds={"pk": "mall.product"}),
    "mall:offers": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:offer_new": Spec(read=NOBODY),
    "mall:offer_edit": Spec(read=S(ADMIN, SELLER), write=S(ADMIN), kinds={"pk": "mall.offer"}),
    "mall:offer_products": Spec(read=S(SELLER)),
    "mall:offer_withdraw": Spec(write=S(ADMIN, SELLER), effect=True, kinds={"pk": "mall.offer"}),
    "mall:offer_relist": Spec(write=S(ADMIN, SELLER), kinds={"pk": "mall.offer"}),
    "mall:cart_add": Spec(write=S(ADMIN, OA, OB, DEPT, BUYER), kinds={"pk": "mall.offer"}),
    "mall:admissions": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:admission_apply": Spec(write=S(ADMIN, OA, OB, DEPT, OUT)),
    "mall:admission_decide": Spec(write=S(ADMIN), kinds={"pk": "mall.admission"}),
    "mall:admission_document_add": Spec(write=S(ADMIN), kinds={"pk": "mall.admission"}),
    "mall:sanctions": Spec(read=EVERYONE | S(BUYER, SELLER), write=S(ADMIN, OA, OB, DEPT, OUT)),
    "mall:file": Spec(read=S(ADMIN, SUP, SELLER), kinds={"kind": "=admission", "pk": "mall.admission_document"}),
    "mall:cart": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:cart_line": Spec(write=S(BUYER), kinds={"pk": "mall.cartline"}),
    "mall:order_place": Spec(write=NOBODY),
    "mall:cart_negotiate": Spec(write=NOBODY),
    "mall:negotiations": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:negotiation": Spec(read=S(ADMIN, SUP, OA, BUYER, SELLER), kinds={"pk": "mall.negotiation"}, get_ok=S(302)),
    "mall:orders": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "mall:orders_export": Spec(read=EVERYONE | S(BUYER, SELLER), write=EVERYONE | S(BUYER, SELLER), effect=True),
    "mall:order": Spec(read=S(ADMIN, SUP, OA, BUYER, SELLER), kinds={"pk": "mall.order"}),
    "mall:order_action": Spec(write=S(ADMIN, OA), kinds={"pk": "mall.order", "action": "=cancel"}),
    "mall:negotiate": Spec(write=NOBODY, kinds={"pk": "mall.order", "action": "=withdraw"}),
    "mall:approvals": Spec(read=EVERYONE | S(BUYER, SELLER), write=S(ADMIN)),
    "mall:settings": Spec(read=S(ADMIN), write=S(ADMIN)),
    "mall:flags": Spec(read=S(ADMIN, SUP)),
    "mall:flags_export": Spec(read=S(ADMIN, SUP), write=S(ADMIN, SUP), effect=True),
    "mall:flag": Spec(read=S(ADMIN, SUP), write=S(ADMIN, SUP), effect=True, kinds={"pk": "mall.flag"}),
    "govdesk_mall_api_offer_search": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_my_offers": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_offer_update": Spec(write=S(ADMIN, SELLER), kinds={"offer_id": "mall.offer"}),
    "govdesk_mall_api_offer_withdraw": Spec(write=S(ADMIN, SELLER), effect=True, kinds={"offer_id": "mall.offer"}),
    "govdesk_mall_api_offer_relist": Spec(write=S(ADMIN, SELLER), kinds={"offer_id": "mall.offer"}),
    "govdesk_mall_api_cart_list": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_cart_add": Spec(write=S(BUYER), body_kinds={"offer_id": "mall.offer"}),
    "govdesk_mall_api_cart_negotiation_open": Spec(write=NOBODY),
    "govdesk_mall_api_cart_set": Spec(write=S(BUYER), kinds={"line_id": "mall.cartline"}),
    "govdesk_mall_api_order_place": Spec(write=NOBODY),
    "govdesk_mall_api_order_list": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_order_get": Spec(read=S(ADMIN, SUP, OA, BUYER, SELLER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_approve": Spec(write=S(ADMIN, OA), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_decline": Spec(write=S(ADMIN, OA), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_confirm": Spec(write=S(SELLER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_ship": Spec(write=S(SELLER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_accept": Spec(write=S(BUYER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_settle": Spec(write=S(BUYER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_order_cancel": Spec(write=S(BUYER, SELLER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_negotiation_list": Spec(read=S(ADMIN, SUP, OA, BUYER, SELLER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_negotiation_search": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_negotiation_get": Spec(read=S(ADMIN, SUP, OA, BUYER, SELLER), kinds={"negotiation_id": "mall.negotiation"}),
    "govdesk_mall_api_negotiation_open": Spec(write=S(BUYER), kinds={"order_id": "mall.order"}),
    "govdesk_mall_api_negotiation_counter": Spec(write=S(SELLER), kinds={"negotiation_id": "mall.negotiation"}),
    "govdesk_mall_api_negotiation_accept": Spec(write=S(SELLER), kinds={"negotiation_id": "mall.negotiation"}),
    "govdesk_mall_api_negotiation_reject": Spec(write=S(SELLER), kinds={"negotiation_id": "mall.negotiation"}),
    "govdesk_mall_api_negotiation_withdraw": Spec(write=S(BUYER), kinds={"negotiation_id": "mall.negotiation"}),
    "govdesk_mall_api_flag_list": Spec(read=EVERYONE | S(BUYER, SELLER)),
    "govdesk_mall_api_flag_review": Spec(write=S(ADMIN), kinds={"flag_id": "mall.flag"}),
    # --- coal --------------------------------------------------------------------------------------
    "coal:dashboard": Spec(read=EVERYONE),
    "coal:office": Spec(write=S(ADMIN, OA, OB, DEPT, OUT)),
    "coal:places": Spec(read=EVERYONE),
    "coal:place_create": Spec(read=S(ADMIN, OA, OB), write=S(ADMIN, OA, OB)),
    "coal:place": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "coal.place"}),
    "coal:place_edit": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), effect=True, kinds={"pk": "coal.place"}),
    "coal:place_close_down": Spec(write=S(ADMIN, OA), effect=True, kinds={"pk": "coal.place"}),
    "coal:inspection_create": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), effect=True, kinds={"pk": "coal.place"}),
    "coal:inspections": Spec(read=EVERYONE),
    "coal:inspection": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "coal.inspection"}),
    "coal:inspection_edit": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), kinds={"pk": "coal.inspection"}),
    "coal:inspection_close": Spec(write=S(ADMIN, OA), kinds={"pk": "coal.inspection"}),
    "coal:inspection_correct": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), effect=True, kinds={"pk": "coal.inspection"}),
    "coal:photo_add": Spec(write=S(ADMIN, OA), kinds={"pk": "coal.inspection"}),
    "coal:photo": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "coal.photo"}),
    "coal:posting_photo": Spec(read=NOBODY, kinds={"pk": "coal.posting"}),
    "coal:rectifications": Spec(read=EVERYONE),
    "coal:rectification_extend": Spec(read=S(ADMIN, OA), write=S(ADMIN, OA), kinds={"pk": "coal.rectification"}),
    "coal:campaigns": Spec(read=EVERYONE),
    "coal:campaign_create": Spec(read=S(ADMIN), write=S(ADMIN)),
    "coal:campaign": Spec(read=S(ADMIN, SUP, OA, OB), kinds={"pk": "coal.campaign"}),
    "coal:campaign_report": Spec(read=S(ADMIN, SUP, OA, OB), write=S(ADMIN, SUP, OA, OB), effect=True, kinds={"pk": "coal.campaign"}),
    "coal:campaign_close": Spec(write=S(ADMIN), effect=True, kinds={"pk": "coal.campaign"}),
    "coal:task": Spec(read=S(ADMIN, SUP, OA), write=S(ADMIN, OA), effect=True, kinds={"pk": "coal.task"}),
    # the page's form assigns nobody to a task nobody holds: a no-op since assignment became idempotent
    "coal:task_assign": Spec(write=S(ADMIN, OA), kinds={"pk": "coal.task"}),
    "coal:reports": Spec(read=EVERYONE),
    "coal:report_submit": Spec(write=NOBODY),
    "coal:notices": Spec(read=EVERYONE, write=S(ADMIN)),
    "coal:batch": Spec(read=S(ADMIN, SUP, OA, OB), kinds={"pk": "coal.batch"}),
    "coal:allocation_set": Spec(write=S(ADMIN, OA, OB), kinds={"pk": "coal.batch"}),
    "coal:posting_create": Spec(write=S(ADMIN, OA, OB), kinds={"pk": "coal.batch"}),
    "govdesk_coal_api_today": Spec(read=EVERYONE),
    "govdesk_coal_api_places": Spec(read=EVERYONE),
    "govdesk_coal_api_place": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "coal.place"}),
    "govdesk_coal_api_inspection_record": Spec(write=NOBODY),
    "govdesk_coal_api_inspection": Spec(read=S(ADMIN, SUP, OA), kinds={"pk": "coal.inspection"}),
    "govdesk_coal_api_photo_add": Spec(write=NOBODY, kinds={"pk": "coal.inspection"}),
    # --- veterans ----------------------------------------------------------------------------------
    "veterans:dashboard": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:expected": Spec(read=EVERYONE | S(COLLECTOR, BUREAU), write=S(ADMIN, OA, OB, DEPT, OUT)),
    "veterans:records": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:records_export": Spec(write=EVERYONE | S(COLLECTOR, BUREAU), effect=True),
    "veterans:record_new": Spec(read=S(ADMIN, OA, OB, COLLECTOR, BUREAU), write=S(ADMIN, OA, OB)),
    "veterans:record": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), kinds={"pk": "veterans.record"}),
    "veterans:record_edit": Spec(read=S(ADMIN, OA, COLLECTOR, BUREAU), kinds={"pk": "veterans.record"}, get_ok=S(302)),
    "veterans:change_request": Spec(read=S(ADMIN, OA, COLLECTOR, BUREAU), write=S(ADMIN, OA), kinds={"pk": "veterans.record"}),
    "veterans:attachment_upload": Spec(write=S(ADMIN, OA), kinds={"pk": "veterans.record"}),
    "veterans:record_unmask": Spec(write=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), effect=True, kinds={"pk": "veterans.record", "field": "=id_number"}),
    "veterans:record_action": Spec(write=S(ADMIN, OA), kinds={"pk": "veterans.record", "action": "=review"}),
    "veterans:change_decide": Spec(write=S(ADMIN, OA, BUREAU), effect=True, kinds={"pk": "veterans.change", "decision": "=reject"}),
    "veterans:attachment": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), write=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), effect=True, kinds={"pk": "veterans.attachment"}),
    "veterans:points": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:point_new": Spec(read=S(ADMIN, OA, OB, BUREAU), write=S(ADMIN, OA, OB)),
    "veterans:point": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), kinds={"pk": "veterans.point"}),
    "veterans:point_open_days": Spec(write=S(ADMIN, OA, BUREAU), effect=True, kinds={"pk": "veterans.point"}),
    "veterans:book": Spec(read=S(ADMIN, OA, COLLECTOR, BUREAU), write=S(ADMIN, OA), kinds={"slot_pk": "veterans.slot"}),
    "veterans:appointments": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:appointment": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), kinds={"pk": "veterans.appointment"}),
    "veterans:appointment_action": Spec(write=S(ADMIN, OA, COLLECTOR, BUREAU), effect=True, kinds={"pk": "veterans.appointment", "action": "=cancel"}),
    "veterans:checkin": Spec(read=EVERYONE | S(COLLECTOR, BUREAU), write=S(ADMIN, OA, OB, DEPT, OUT)),
    "veterans:board": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:progress_report": Spec(read=S(ADMIN, SUP, OA, OB, COLLECTOR, BUREAU)),
    "veterans:organisation": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:team_new": Spec(read=S(ADMIN, OA, OB, DEPT, BUREAU), write=S(ADMIN, OA, OB, DEPT)),
    "veterans:team_member_add": Spec(write=S(ADMIN, OA), kinds={"pk": "veterans.team"}),
    "veterans:team_member_remove": Spec(write=S(ADMIN, OA, BUREAU), effect=True, kinds={"pk": "veterans.team_member"}),
    "veterans:office_new": Spec(read=S(ADMIN, OA, OB, BUREAU), write=S(ADMIN, OA, OB)),
    "veterans:training_new": Spec(read=S(ADMIN, OA, OB, DEPT, BUREAU), write=S(ADMIN, OA, OB, DEPT)),
    "veterans:training": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), write=S(ADMIN, OA), kinds={"pk": "veterans.training"}),
    "veterans:attendance_remove": Spec(write=S(ADMIN, OA, BUREAU), effect=True, kinds={"pk": "veterans.attendance"}),
    "veterans:questions": Spec(read=EVERYONE | S(COLLECTOR, BUREAU), write=S(ADMIN, OA, OB, DEPT, OUT)),
    "veterans:question": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), write=S(ADMIN, OA), kinds={"pk": "veterans.question"}),
    "veterans:faq": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:offline": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "veterans:offline_worker": Spec(read=EVERYONE | S(COLLECTOR, BUREAU), public=True),
    "govdesk_veterans_api_category_list": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "govdesk_veterans_api_record_list": Spec(read=EVERYONE | S(COLLECTOR, BUREAU)),
    "govdesk_veterans_api_record_sync": Spec(write=S(COLLECTOR, BUREAU)),
    "govdesk_veterans_api_record_get": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), kinds={"record_uuid": "veterans.record"}),
    "govdesk_veterans_api_attachment_upload": Spec(write=NOBODY, kinds={"record_uuid": "veterans.record"}),
    "govdesk_veterans_api_uploads_upload_start": Spec(write=S(COLLECTOR, BUREAU), kinds={"record_uuid": "veterans.record"}),
    "govdesk_veterans_api_uploads_upload_status": Spec(read=S(ADMIN, SUP, OA, COLLECTOR, BUREAU), kinds={"upload_id": "veterans.upload"}),
    "govdesk_veterans_api_uploads_upload_chunk": Spec(write=S(COLLECTOR, BUREAU), kinds={"upload_id": "veterans.upload"}),
    # --- contest -----------------------------------------------------------------------------------
    "contest:dashboard": Spec(read=EVERYONE | S(ORGANISER, JUDGE, JUDGE_OFF)),
    "contest:competition_create": Spec(read=S(ADMIN, OA, OB, DEPT, ORGANISER), write=S(ADMIN, OA, OB, DEPT)),
    "contest:competition": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.competition"}),
    "contest:competition_edit": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN, ORGANISER), effect=True, kinds={"pk": "contest.competition"}),
    "contest:event_create": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN, ORGANISER), effect=True, kinds={"pk": "contest.competition"}),
    "contest:contestant_create": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.competition"}),
    "contest:judge_create": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.competition"}),
    "contest:contestant_enter": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.contestant"}),
    "contest:supervision": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.competition"}),
    "contest:board": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.competition"}),
    "contest:event": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.event"}),
    "contest:event_edit": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:item_create": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:item_remove": Spec(write=S(ADMIN), kinds={"pk": "contest.item"}),
    "contest:written": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:advance": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:panel": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:draw": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:judging_open": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:round_close": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:results": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.event"}),
    "contest:sign": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:publish": Spec(write=S(ADMIN), kinds={"pk": "contest.event"}),
    "contest:certificates": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"pk": "contest.event"}),
    "contest:my_sheets": Spec(read=EVERYONE | S(ORGANISER, JUDGE, JUDGE_OFF)),
    "contest:sheet": Spec(read=S(ADMIN, SUP, JUDGE, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.sheet"}),
    "contest:correction_create": Spec(read=S(JUDGE), write=NOBODY, kinds={"pk": "contest.sheet"}),
    "contest:correction": Spec(read=S(ADMIN, SUP, JUDGE, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.correction"}),
    "contest:published": Spec(read=EVERYONE | S(ORGANISER, JUDGE, JUDGE_OFF)),
    "contest:appeal_create": Spec(read=S(ADMIN, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.result"}),
    "contest:appeal": Spec(read=S(ADMIN, SUP, ORGANISER), write=S(ADMIN), kinds={"pk": "contest.appeal"}),
    "govdesk_contest_api_competitions": Spec(read=EVERYONE | S(ORGANISER, JUDGE, JUDGE_OFF)),
    "govdesk_contest_api_my_sheets": Spec(read=EVERYONE | S(ORGANISER, JUDGE, JUDGE_OFF)),
    "govdesk_contest_api_sheet_submit": Spec(write=S(JUDGE), kinds={"sheet_id": "contest.sheet"}),
    "govdesk_contest_api_event_results": Spec(read=S(ADMIN, SUP, ORGANISER), kinds={"event_id": "contest.event"}),
}
