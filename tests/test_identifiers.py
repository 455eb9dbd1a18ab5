import pytest

from api.errors import DomainError
from api.services.identifiers import normalize_id_number, normalize_phone, normalize_uscc


def test_valid_resident_id_number_is_normalized_to_upper_case_check_character():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character"),
        ("11010519491331002X", "birth date"),
        ("1101051949123100", "17 digits"),
        ("11010519491231002Y", "17 digits"),
    ],
)
def test_bad_resident_id_number_is_refused_with_the_reason(number, reason):
    with pytest.raises(DomainError) as error:
        normalize_id_number(number)
    assert error.value.code == "VALIDATION_FAILED"
    assert reason in error.value.message


def test_valid_unified_social_credit_code_passes():
    assert normalize_uscc("91350100m000100y43") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100I43", "9135010"])
def test_bad_unified_social_credit_code_is_refused(code):
    with pytest.raises(DomainError) as error:
        normalize_uscc(code)
    assert error.value.code == "VALIDATION_FAILED"


def test_phone_numbers_mobile_and_landline_pass_and_garbage_fails():
    assert normalize_phone("138 0013 8000") == "13800138000"
    assert normalize_phone("0724-5201234") == "0724-5201234"
    with pytest.raises(DomainError):
        normalize_phone("12345")
