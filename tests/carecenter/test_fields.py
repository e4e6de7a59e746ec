import pytest

from carecenter.fields import clean_text, mask_national_id, normalize_phone, validate_national_id


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("(010) 6012 3456", "+861060123456"),
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("bad", ["123", "abc", "+86 138 0013", "", "138001380001234"])
def test_invalid_phone_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalize_phone(bad)


def test_national_id_check_character() -> None:
    assert validate_national_id("11011119400501008x") == "11011119400501008X"
    assert validate_national_id("110111194005010020") == "110111194005010020"
    with pytest.raises(ValueError, match="check character"):
        validate_national_id("110111194005010021")
    with pytest.raises(ValueError, match="18 characters"):
        validate_national_id("1101111940050100")


def test_national_id_mask_keeps_only_ends() -> None:
    assert mask_national_id("11011119400501008X") == "110***********008X"
    assert mask_national_id(None) is None


def test_text_accepts_any_script_but_not_control_characters() -> None:
    assert clean_text("  王秀英 👵 مرحبا ") == "王秀英 👵 مرحبا"
    with pytest.raises(ValueError, match="control"):
        clean_text("bad\x00name")
