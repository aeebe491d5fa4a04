"""Mall API: catalogue search, cart, order lifecycle (with the unit's internal approval),
negotiation, supervision flags, and suppliers' offers — price, stock, withdrawing and relisting —
and the negotiations they must answer (with a token: ``Authorization: Bearer gdk_...``).
Same services, same reach as the pages."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Router, Schema, Status

from govdesk.core.errors import NotInReach
from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, get_in_reach

from . import queries, services
from .models import CartLine, Flag, Negotiation, Offer, Order

router = Router(tags=["mall"])


class OfferOut(Schema):
    id: int
    product_id: int
    product: str
    category: str
    supplier_id: int
    supplier: str
    list_price: Decimal
    reference_price: Decimal | None
    stock: int
    status: str
    blocked_reason: str

    @staticmethod
    def resolve_product(obj):
        return str(obj.product)

    @staticmethod
    def resolve_category(obj):
        return obj.product.category.name

    @staticmethod
    def resolve_supplier(obj):
        return obj.supplier.name

    @staticmethod
    def resolve_reference_price(obj):
        return obj.product.reference_price


class OfferPage(Schema):
    items: list[OfferOut]
    next: str | None


class OfferUpdateIn(Schema):
    list_price: Decimal | None = None
    stock: int | None = None


class OfferWithdrawIn(Schema):
    reason: str = ""


class CartIn(Schema):
    offer_id: int
    quantity: int = 1


class CartSetIn(Schema):
    """The new quantity of a cart line (0 removes it)."""

    quantity: int = 1
    offer_id: int | None = Field(
        None, description="Optional and ignored: the line already names its offer. Accepted so that clients "
                          "written when it was required keep working.")


class CartLineOut(Schema):
    id: int
    offer_id: int
    quantity: int


class PlaceIn(Schema):
    unit_id: int


class LineOut(Schema):
    id: int
    product_id: int
    quantity: int
    list_price: Decimal
    list_amount: Decimal
    amount: Decimal


class OrderOut(Schema):
    id: int
    number: str
    org_unit_id: int
    supplier_id: int
    category_id: int
    status: str
    list_total: Decimal
    total: Decimal
    savings: Decimal
    placed_on: date
    rating: int | None
    cancel_reason: str
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class PlacedOut(Schema):
    orders: list[OrderOut]
    warnings: list[str]


class OrderPage(Schema):
    items: list[OrderOut]
    next: str | None


class AcceptIn(Schema):
    rating: int
    note: str = ""


class CancelIn(Schema):
    reason: str


class DeclineIn(Schema):
    reason: str = Field(description="Why the unit declines the order (required, shown to the purchaser).")


class OfferPriceIn(Schema):
    total: Decimal | None = None
    line_amounts: dict[str, Decimal] | None = None
    note: str = ""


class CartOfferIn(OfferPriceIn):
    supplier_id: int
    category_id: int


class RoundIn(Schema):
    round: int
    total: Decimal | None = None
    line_amounts: dict[str, Decimal] | None = None
    note: str = ""


class BidOut(Schema):
    round: int
    side: str  # purchaser, supplier, or empty for the system (expiry)
    action: str
    by: str | None = Field(description="The person who made the step; empty for the system (expiry).")
    total: Decimal | None
    line_amounts: dict
    note: str
    at: datetime

    @staticmethod
    def resolve_by(obj):
        return str(obj.by) if obj.by_id else None


def _subject(negotiation):
    """What the negotiation prices: its order, or (on a cart) the negotiation's own unit,
    supplier and category."""
    return negotiation.order if negotiation.order_id else negotiation


class NegotiationSummaryOut(Schema):
    id: int
    order_id: int | None  # empty while the negotiation is on a cart
    order_number: str | None
    org_unit_id: int | None
    org_unit: str
    supplier_id: int | None
    supplier: str
    category_id: int | None
    category: str
    status: str
    round: int
    turn: str  # whose answer is awaited: purchaser or supplier
    deadline: datetime
    list_total: Decimal
    bid_total: Decimal
    ask_total: Decimal
    agreed_total: Decimal | None
    opened_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_order_number(obj):
        return obj.order.number if obj.order_id else None

    @staticmethod
    def resolve_org_unit_id(obj):
        return _subject(obj).org_unit_id

    @staticmethod
    def resolve_org_unit(obj):
        return _subject(obj).org_unit.name

    @staticmethod
    def resolve_supplier_id(obj):
        return _subject(obj).supplier_id

    @staticmethod
    def resolve_supplier(obj):
        return _subject(obj).supplier.name

    @staticmethod
    def resolve_category_id(obj):
        return _subject(obj).category_id

    @staticmethod
    def resolve_category(obj):
        return _subject(obj).category.name


class NegotiationPage(Schema):
    items: list[NegotiationSummaryOut]
    next: str | None


class NegotiationOut(NegotiationSummaryOut):
    basket: list
    bids: list[BidOut]

    @staticmethod
    def resolve_bids(obj):
        # the detail endpoint reads them through queries.bids_of; the writes answer with the
        # negotiation they have just changed, whose bids are all the actor's to see
        bids = getattr(obj, "bids_seen", None)
        return bids if bids is not None else list(obj.bids.select_related("by").order_by("round"))


class FlagOut(Schema):
    id: int
    rule: str
    status: str
    org_unit_id: int
    supplier_id: int | None
    order_id: int | None
    message: str
    params: dict
    note: str
    raised_at: datetime


class FlagReviewIn(Schema):
    status: str
    note: str = ""


def _next(page) -> str | None:
    return page.next_url or None


# --- catalogue ---------------------------------------------------------------------------------

@router.get("/offers", response=OfferPage)
def offer_search(request, q: str = "", category: str = "", encouraged: str = "", sort: str = "price",
                 after: str = "", min_price: Decimal | None = None, max_price: Decimal | None = None):
    """Listed offers, ``min_price`` ≤ list price ≤ ``max_price`` when given; ``next`` is the
    query string of the following page (keyset)."""
    qs = queries.catalogue_search(request.user, q=q, category=category, encouraged=encouraged,
                                  min_price="" if min_price is None else str(min_price),
                                  max_price="" if max_price is None else str(max_price))
    page = keyset_page(qs, request.GET, sorts=queries.CATALOGUE_SORTS, default="price")
    return {"items": page.rows, "next": _next(page)}


@router.get("/my-offers", response=list[OfferOut])
def my_offers(request):
    return list(queries.offers_of_supplier(request.user).order_by("-updated_at")[:500])


@router.patch("/offers/{offer_id}", response=OfferOut)
def offer_update(request, offer_id: int, payload: OfferUpdateIn):
    """A supplier updates its price and/or stock; the listing rule applies."""
    offer = get_in_reach(Offer, request.user, CHANGE, pk=offer_id)
    return services.offer_update(actor=request.user, offer=offer, list_price=payload.list_price, stock=payload.stock)


@router.post("/offers/{offer_id}/withdraw", response=OfferOut)
def offer_withdraw(request, offer_id: int, payload: OfferWithdrawIn):
    """The supplier takes the offer off the shelf (409 when it already is); orders placed stand."""
    offer = get_in_reach(Offer, request.user, CHANGE, pk=offer_id)
    return services.offer_withdraw(actor=request.user, offer=offer, reason=payload.reason)


@router.post("/offers/{offer_id}/relist", response=OfferOut)
def offer_relist(request, offer_id: int):
    """Put a withdrawn offer back (409 when it is not withdrawn); the listing rule decides
    whether it is listed or blocked."""
    offer = get_in_reach(Offer, request.user, CHANGE, pk=offer_id)
    return services.offer_relist(actor=request.user, offer=offer)


# --- cart and orders -------------------------------------------------------------------------------

@router.get("/cart", response=list[CartLineOut])
def cart_list(request):
    return list(queries.cart_of(request.user))


@router.post("/cart", response={201: CartLineOut})
def cart_add(request, payload: CartIn):
    offer = get_in_reach(Offer, request.user, VIEW, pk=payload.offer_id)
    return Status(201, services.cart_add(actor=request.user, offer=offer, quantity=payload.quantity))


@router.post("/cart/negotiations", response={201: NegotiationOut})
def cart_negotiation_open(request, payload: CartOfferIn):
    """Offer a price on the part of the cart that will become one order (one supplier, one
    category); ``line_amounts`` are keyed by offer id."""
    line = (queries.cart_of(request.user).filter(offer__supplier_id=payload.supplier_id,
                                                  offer__product__category_id=payload.category_id)
            .order_by("pk").first())
    if line is None:
        raise NotInReach()
    negotiation = services.cart_negotiation_open(actor=request.user, supplier=line.offer.supplier,
                                                 category=line.offer.product.category,
                                                 total=payload.total, line_amounts=payload.line_amounts,
                                                 note=payload.note)
    return Status(201, negotiation)


@router.post("/cart/{line_id}", response={200: CartLineOut, 204: None})
def cart_set(request, line_id: int, payload: CartSetIn):
    """Set the line's quantity; 0 removes the line and answers 204."""
    line = get_in_reach(CartLine, request.user, CHANGE, pk=line_id)
    line = services.cart_set_quantity(actor=request.user, line=line, quantity=payload.quantity)
    return line if line else Status(204, None)


@router.post("/orders", response={201: PlacedOut})
def order_place(request, payload: PlaceIn):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=payload.unit_id)
    orders, warnings = services.order_place(actor=request.user, unit=unit)
    return Status(201, {"orders": orders, "warnings": warnings})


@router.get("/orders", response=OrderPage)
def order_list(request, status: str = "", sort: str = "-placed", after: str = ""):
    qs = queries.orders_visible(request.user, status=status).prefetch_related("lines")
    page = keyset_page(qs, request.GET, sorts=queries.ORDER_SORTS, default="-placed")
    return {"items": page.rows, "next": _next(page)}


@router.get("/orders/{order_id}", response=OrderOut)
def order_get(request, order_id: int):
    return get_in_reach(Order, request.user, VIEW, pk=order_id)


def _order(request, order_id):
    return get_in_reach(Order, request.user, VIEW, pk=order_id)


@router.post("/orders/{order_id}/approve", response=OrderOut)
def order_approve(request, order_id: int):
    """An officer of the unit approves an order waiting for internal approval (``pending``):
    it goes to the supplier. The purchaser who placed it may not (403); 409 when not pending."""
    return services.order_approve(actor=request.user, order=_order(request, order_id), approve=True)


@router.post("/orders/{order_id}/decline", response=OrderOut)
def order_decline(request, order_id: int, payload: DeclineIn):
    """An officer of the unit declines a pending order with a reason: it is cancelled."""
    return services.order_approve(actor=request.user, order=_order(request, order_id), approve=False,
                                  reason=payload.reason)


@router.post("/orders/{order_id}/confirm", response=OrderOut)
def order_confirm(request, order_id: int):
    return services.order_confirm(actor=request.user, order=_order(request, order_id))


@router.post("/orders/{order_id}/ship", response=OrderOut)
def order_ship(request, order_id: int):
    return services.order_ship(actor=request.user, order=_order(request, order_id))


@router.post("/orders/{order_id}/accept", response=OrderOut)
def order_accept(request, order_id: int, payload: AcceptIn):
    return services.order_accept(actor=request.user, order=_order(request, order_id), rating=payload.rating,
                                 note=payload.note)


@router.post("/orders/{order_id}/settle", response=OrderOut)
def order_settle(request, order_id: int):
    return services.order_settle(actor=request.user, order=_order(request, order_id))


@router.post("/orders/{order_id}/cancel", response=OrderOut)
def order_cancel(request, order_id: int, payload: CancelIn):
    return services.order_cancel(actor=request.user, order=_order(request, order_id), reason=payload.reason)


# --- negotiation --------------------------------------------------------------------------------------

@router.get("/orders/{order_id}/negotiations", response=list[NegotiationOut])
def negotiation_list(request, order_id: int):
    return list(queries.negotiations_of(request.user, _order(request, order_id)))


@router.post("/orders/{order_id}/negotiations", response={201: NegotiationOut})
def negotiation_open(request, order_id: int, payload: OfferPriceIn):
    negotiation = services.negotiation_open(actor=request.user, order=_order(request, order_id), total=payload.total,
                                            line_amounts=payload.line_amounts, note=payload.note)
    return Status(201, negotiation)


NEGOTIATION_SORTS = {"opened": "opened_at", "deadline": "deadline"}


@router.get("/negotiations", response=NegotiationPage)
def negotiation_search(request, status: str = "", turn: str = "", sort: str = "-opened", after: str = ""):
    """Every negotiation the user may see — a supplier's, on its orders and on purchasers' carts;
    ``turn=supplier`` with ``status=open`` are those awaiting its answer. ``next`` as for offers."""
    qs = queries.negotiations_visible(request.user, status=status, turn=turn)
    page = keyset_page(qs, request.GET, sorts=NEGOTIATION_SORTS, default="-opened")
    return {"items": page.rows, "next": _next(page)}


def _negotiation(request, negotiation_id):
    return get_in_reach(Negotiation, request.user, VIEW, pk=negotiation_id)


@router.get("/negotiations/{negotiation_id}", response=NegotiationOut)
def negotiation_get(request, negotiation_id: int):
    """One negotiation with every bid (round, side, action, by, total, per-line amounts, note, at)."""
    negotiation = get_in_reach(Negotiation.objects.select_related("order__org_unit", "order__supplier",
                                                                  "order__category", "org_unit", "supplier",
                                                                  "category"),
                               request.user, VIEW, pk=negotiation_id)
    negotiation.bids_seen = list(queries.bids_of(request.user, negotiation))
    return negotiation


@router.post("/negotiations/{negotiation_id}/counter", response=NegotiationOut)
def negotiation_counter(request, negotiation_id: int, payload: RoundIn):
    return services.negotiation_counter(actor=request.user, negotiation=_negotiation(request, negotiation_id),
                                        expected_round=payload.round, total=payload.total,
                                        line_amounts=payload.line_amounts, note=payload.note)


@router.post("/negotiations/{negotiation_id}/accept", response=NegotiationOut)
def negotiation_accept(request, negotiation_id: int, payload: RoundIn):
    return services.negotiation_accept(actor=request.user, negotiation=_negotiation(request, negotiation_id),
                                       expected_round=payload.round)


@router.post("/negotiations/{negotiation_id}/reject", response=NegotiationOut)
def negotiation_reject(request, negotiation_id: int, payload: RoundIn):
    return services.negotiation_reject(actor=request.user, negotiation=_negotiation(request, negotiation_id),
                                       expected_round=payload.round, note=payload.note)


@router.post("/negotiations/{negotiation_id}/withdraw", response=NegotiationOut)
def negotiation_withdraw(request, negotiation_id: int, payload: RoundIn):
    return services.negotiation_withdraw(actor=request.user, negotiation=_negotiation(request, negotiation_id),
                                         expected_round=payload.round, note=payload.note)


# --- supervision ----------------------------------------------------------------------------------------

@router.get("/flags", response=list[FlagOut])
def flag_list(request, status: str = "active", rule: str = "", limit: int = 200):
    return list(queries.flags_visible(request.user, status=status, rule=rule)
                .order_by("-raised_at", "-id")[: max(1, min(limit, 1000))])


@router.post("/flags/{flag_id}/review", response=FlagOut)
def flag_review(request, flag_id: int, payload: FlagReviewIn):
    flag = get_in_reach(Flag, request.user, VIEW, pk=flag_id)
    return services.flag_review(actor=request.user, flag=flag, status=payload.status, note=payload.note)
