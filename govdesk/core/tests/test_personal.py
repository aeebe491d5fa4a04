import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import ric

from govdesk.core import personal, services
from govdesk.core.errors import Forbidden
from govdesk.core.models import AuditEvent

VALID = "11010519491231002X"  # the GB 11643 example number


def with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize("raw", [VALID, VALID.lower(), f" {VALID} ", "１１０１０５１９４９１２３１００２Ｘ"])
def test_it_accepts_valid_id_numbers_as_people_type_them(raw):
    assert personal.clean_id_number(raw) == VALID


@pytest.mark.parametrize("raw, message", [
    ("110105194912310021", "校验位"),
    (with_check_digit("11010519491331002"), "出生日期"),
    (with_check_digit("11010530000101002"), "出生日期"),
    ("110105491231002", "15 位"),
    ("1101051949123100", "18 位"),
    (4.10102199e17, "科学计数法"),
    ("4.10102199E+17", "科学计数法"),
    ("", "请填写"),
    ("11010519491231002Y", "只能包含数字"),
])
def test_it_rejects_bad_id_numbers_with_a_clear_message(raw, message):
    with pytest.raises(ValidationError) as err:
        personal.clean_id_number(raw)
    assert message in err.value.messages[0]


def test_a_zhongyuan_resident_born_before_the_district_code_existed_is_accepted():
    # 410102 dates from 1983; people born earlier still carry it on their cards
    number = with_check_digit("41010219600101001")
    assert personal.clean_id_number(number) == number


def test_an_unknown_region_code_is_refused():
    with pytest.raises(ValidationError, match="行政区划"):
        personal.clean_id_number(with_check_digit("99999919600101001"))


def test_gender_and_birth_date_come_from_the_number():
    assert personal.id_gender(VALID) == "女"
    assert str(personal.id_birth_date(VALID)) == "1949-12-31"


@pytest.mark.parametrize("raw, clean", [("13800001234", "13800001234"), ("+86 138 0000 1234", "13800001234"),
                                        ("0371-67891234", "0371-67891234"), (13800001234.0, "13800001234")])
def test_phone_numbers(raw, clean):
    assert personal.clean_phone(raw) == clean


def test_bad_phone_numbers_are_refused():
    with pytest.raises(ValidationError, match="11 位"):
        personal.clean_phone("1380000")


def test_credit_codes():
    assert personal.clean_credit_code("91110000600037341L") == "91110000600037341L"
    with pytest.raises(ValidationError, match="校验位"):
        personal.clean_credit_code("91110000600037341M")


def test_encryption_round_trips_and_never_repeats_a_ciphertext():
    a, b = personal.encrypt(VALID), personal.encrypt(VALID)
    assert a != b and VALID not in a
    assert personal.decrypt(a) == VALID


def test_a_tampered_ciphertext_is_refused():
    token = personal.encrypt(VALID)
    key_id, body = token.split(":")
    import base64
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        personal.decrypt(f"{key_id}:{base64.b64encode(bytes(raw)).decode()}")


def test_the_blind_index_finds_equal_values_only():
    assert personal.blind_index("ric", VALID) == personal.blind_index("ric", VALID)
    assert personal.blind_index("ric", VALID) != personal.blind_index("phone", VALID)
    assert VALID not in personal.blind_index("ric", VALID)


def test_key_rotation_keeps_old_ciphertexts_readable(settings):
    import base64
    old = personal.encrypt(VALID)
    settings.DATA_KEYS_OLD = f"old:{settings.DATA_KEY}"
    settings.DATA_KEY = base64.b64encode(b"n" * 32).decode()
    assert personal.needs_rotation(old)
    assert personal.decrypt(old) == VALID
    assert not personal.needs_rotation(personal.encrypt(VALID))


def test_masks():
    assert personal.mask_id_number(VALID) == "110105********002X"
    assert personal.mask_phone("13800001234") == "138****1234"


@pytest.mark.django_db
def test_unmasking_is_for_allowed_roles_and_audited(world):
    world.officer_a.phone_enc = personal.encrypt("13800001234")
    world.officer_a.save(update_fields=["phone_enc"])
    with pytest.raises(Forbidden):
        services.personal_unmask(actor=world.officer_b, obj=world.officer_a, field="phone", unit=world.street_a)
    value = services.personal_unmask(actor=world.supervisor, obj=world.officer_a, field="phone", unit=world.street_a)
    assert value == "13800001234"
    event = AuditEvent.objects.filter(action="unmask").get()
    assert event.actor_name == "supervisor" and event.object_id == str(world.officer_a.pk)
