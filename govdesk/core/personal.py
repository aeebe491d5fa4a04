"""Personal data: resident ID numbers, phone numbers and credit codes.

Sensitive values are validated, stored encrypted (AES-GCM, key from the
environment, the key id written into every ciphertext so keys can rotate), found
through a keyed blind index (HMAC-SHA256 over the normalised value), and shown
masked. Unmasking is a service (``core.services.personal_unmask``) that audits.

15-digit legacy ID numbers (pre-1999 cards) are refused: they expired in 2013
and cannot carry the GB 11643 check digit; people are asked for the 18-digit number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from datetime import date
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric, uscc

# --- keys ---------------------------------------------------------------------


def _decode_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("GOVDESK_DATA_KEY must be 32 bytes in base64 (see docs/OPERATIONS.md)")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"govdesk:" + purpose).derive(master)


@lru_cache(maxsize=8)
def _keyring(current: str, old: str) -> tuple[str, dict[str, bytes]]:
    """(current key id, {key id: encryption key}). A key id is the first 8 hex
    digits of the SHA-256 of the master key: stable, and reveals nothing."""
    masters = [_decode_key(current)] + [_decode_key(item.split(":", 1)[-1]) for item in old.split(",") if item.strip()]
    ring = {}
    for master in masters:
        ring[hashlib.sha256(master).hexdigest()[:8]] = _derive(master, b"encrypt")
    return hashlib.sha256(masters[0]).hexdigest()[:8], ring


def _keys():
    return _keyring(settings.DATA_KEY, settings.DATA_KEYS_OLD)


@lru_cache(maxsize=4)
def _index_key(current: str) -> bytes:
    return _derive(_decode_key(current), b"blind-index")


def encrypt(value: str) -> str:
    if value in (None, ""):
        return ""
    key_id, ring = _keys()
    nonce = os.urandom(12)
    sealed = AESGCM(ring[key_id]).encrypt(nonce, value.encode(), key_id.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str) -> str:
    if not token:
        return ""
    key_id, _, body = token.partition(":")
    _current, ring = _keys()
    if key_id not in ring:
        raise ValueError(f"no data key with id {key_id}: add it to GOVDESK_DATA_KEYS_OLD")
    raw = base64.b64decode(body)
    return AESGCM(ring[key_id]).decrypt(raw[:12], raw[12:], key_id.encode()).decode()


def needs_rotation(token: str) -> bool:
    return bool(token) and token.partition(":")[0] != _keys()[0]


def blind_index(kind: str, value: str) -> str:
    """Keyed index of a normalised value: equal values give equal indexes, and the
    index cannot be reversed by enumerating ID numbers without the key."""
    if not value:
        return ""
    return hmac.new(_index_key(settings.DATA_KEY), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


# --- normalising what people type ---------------------------------------------

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


def fold(text) -> str:
    """Full-width to half-width, no spaces (also the ideographic space)."""
    if text is None:
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text)))


_FLOAT_LIKE = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


class CheckedIdNumber(str):
    """An ID number ``clean_id_number`` has already validated: cleaning it again returns it at
    once (an import row is checked by the engine's column and then by the module's service)."""

    __slots__ = ()


def clean_id_number(raw) -> str:
    """Validate a resident ID number (GB 11643) and return its 18-character form."""
    if type(raw) is CheckedIdNumber:
        return raw
    if isinstance(raw, float):
        raise ValidationError("身份证号被 Excel 转成了数字（科学计数法），末几位已丢失；请将该列设为文本格式后重新填写")
    value = fold(raw).upper()
    if not value:
        raise ValidationError("请填写身份证号")
    if _FLOAT_LIKE.match(value):
        raise ValidationError("身份证号被 Excel 转成了科学计数法（如 4.10102E+17），末几位已丢失；请将该列设为文本格式后重新填写")
    if len(value) == 15 and value.isdigit():
        raise ValidationError("15 位旧身份证号已停用，请填写 18 位身份证号")
    if len(value) != 18:
        raise ValidationError(f"身份证号应为 18 位，实际为 {len(value)} 位")
    if not (value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")):
        raise ValidationError("身份证号只能包含数字，最后一位可以是 X")
    if ric.calc_check_digit(value) != value[17]:
        raise ValidationError("身份证号校验位不正确，请核对")
    try:
        birth = id_birth_date(value)
    except ValueError:
        raise ValidationError("身份证号中的出生日期不正确") from None
    if not _region_known(value[:6]):
        raise ValidationError("身份证号前 6 位不是有效的行政区划代码")
    if birth > date.today():
        raise ValidationError("身份证号中的出生日期晚于今天")
    return CheckedIdNumber(value)


@lru_cache(maxsize=8192)
def _region_known(code: str) -> bool:
    """Whether the first six digits name a county-level division that ever existed.

    stdnum's ``ric.validate`` also checks the division's years against the birth year,
    which refuses real people: a number keeps the code of the office that first issued
    it, so a Zhongyuan resident born in 1960 carries 410102 although the district got
    that code in 1983. We keep the region check and drop the years.
    """
    return any("county" in props for _part, props in numdb.get("cn/loc").info(code))


def id_birth_date(value: str) -> date:
    """The birth date in a cleaned 18-character ID number (``ValueError`` if it is no date).
    stdnum's ``get_birth_date`` cleans the number character by character again first, which
    cost an import a tenth of its time."""
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def id_gender(value: str) -> str:
    """"男" or "女" from the 17th digit."""
    return "男" if int(value[16]) % 2 else "女"


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def clean_phone(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = str(int(raw))
    value = fold(raw).replace("（", "(").replace("）", ")")
    value = re.sub(r"^(\+?86)(?=1\d{10}$)", "", value)
    value = value.replace("(", "").replace(")", "")
    if not value:
        raise ValidationError("请填写联系电话")
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return value
    raise ValidationError("联系电话格式不正确：手机号为 11 位，座机如 0371-67891234")


def clean_credit_code(raw) -> str:
    value = fold(raw).upper()
    if not value:
        raise ValidationError("请填写统一社会信用代码")
    try:
        return uscc.validate(value)
    except stdnum_errors.InvalidLength:
        raise ValidationError(f"统一社会信用代码应为 18 位，实际为 {len(value)} 位") from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationError("统一社会信用代码校验位不正确，请核对") from None
    except stdnum_errors.ValidationError:
        raise ValidationError("统一社会信用代码格式不正确") from None


# --- masking --------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    return value[:-4].rstrip("-")[:4] + "****" + value[-4:]


MASKERS = {"id_number": mask_id_number, "phone": mask_phone}
