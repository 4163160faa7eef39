from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.masking import (
    REDACTED,
    MaskStrategy,
    mask,
    mask_email,
    mask_ip,
    mask_name,
    mask_phone,
)


@pytest.mark.parametrize("strategy", list(MaskStrategy))
def test_none_stays_none(strategy: MaskStrategy) -> None:
    assert mask(None, strategy) is None


@pytest.mark.parametrize("strategy", list(MaskStrategy))
@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_empty_or_blank_value_is_redacted(strategy: MaskStrategy, value: str) -> None:
    assert mask(value, strategy) == REDACTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john.doe@example.com", "j•••@e•••.com"),
        ("a@b.co", "a•••@b•••.co"),
        ("  Jane@Mail.Example.ORG ", "J•••@M•••.org"),
        ("x@sub.example.co.uk", "x•••@s•••.uk"),
        ("ünïcode@bücher.de", "ü•••@b•••.de"),
        ("u\u0308ber@example.de", "ü•••@e•••.de"),  # decomposed ü is composed first
        ("\u0301x@example.com", "••••@e•••.com"),  # a lone combining mark is not shown
        ("😀fan@example.com", "😀•••@e•••.com"),
        ("иван@пример.рф", "и•••@п•••.рф"),
        ('"odd@local"@example.com', '"•••@e•••.com'),
    ],
)
def test_email_shows_first_characters_and_tld(value: str, expected: str) -> None:
    assert mask(value, MaskStrategy.EMAIL) == expected


@pytest.mark.parametrize(
    "value",
    [
        "not-an-email",
        "@example.com",
        "john@",
        "john@localhost",
        "john@example.",
        "john@.com",
        "john@example..com",
        "john@[192.168.1.77]",
        "john@10.0.0.77",
        "john@example.c0m",
        "john@example.averyveryveryverylongprivatelabel",
    ],
)
def test_malformed_email_is_fully_redacted(value: str) -> None:
    assert mask(value, MaskStrategy.EMAIL) == REDACTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+1 (555) 123-4567", "•••••••67"),
        ("+44 20 7946 0958", "•••••••58"),
        ("0123456", "•••••••56"),
        ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "•••••••67"),  # noqa: RUF001  (Arabic-Indic digits, shown as ASCII)
    ],
)
def test_phone_shows_last_two_digits_behind_fixed_filler(value: str, expected: str) -> None:
    assert mask(value, MaskStrategy.PHONE) == expected


@pytest.mark.parametrize(
    "value", ["12", "123456", "call me: 5551234567", "555-CALL-NOW", "1" * 21, "+"]
)
def test_short_or_malformed_phone_is_fully_redacted(value: str) -> None:
    assert mask(value, MaskStrategy.PHONE) == REDACTED


def test_phone_mask_does_not_reveal_length() -> None:
    assert mask_phone("1234567") == mask_phone("+49 (0) 30 1234 5678 967") == "•••••••67"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("John Doe", "J. D."),
        ("jane mary smith", "J. M. S."),
        ("  Émile   Zola ", "É. Z."),
        ("e\u0301mile zola", "É. Z."),  # decomposed é
        ("李小龍", "李."),
        ("Владимир Набоков", "В. Н."),  # noqa: RUF001  (Cyrillic on purpose)
        ("O'Brien", "O."),
        ("(Jo) Smith", "J. S."),
        ("straße müller", "S. M."),
        ("ßa", "ß."),  # no single-character upper case: kept as is
        ("Ana María de la Cruz Pérez", "A. M. D. L."),
        ("🎉 Party Pat", "P. P."),
    ],
)
def test_name_is_reduced_to_initials(value: str, expected: str) -> None:
    assert mask(value, MaskStrategy.NAME) == expected


@pytest.mark.parametrize("value", ["J", "J D", "李", "🎉🎉", "--- ...", "12345"])
def test_name_that_initials_would_reveal_whole_is_redacted(value: str) -> None:
    assert mask(value, MaskStrategy.NAME) == REDACTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        (" 10.1.2.3 ", "10.1.2.0/24"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::/48"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),  # IPv4-mapped: mask as IPv4
        ("2002:cb00:714d::1", "2002:cb00:7100::/40"),  # 6to4 embeds 203.0.113.77
        ("fe80::1234:5678%eth0", "fe80::/48"),  # zone id dropped
        ("::1", "::/48"),
    ],
)
def test_ip_is_reduced_to_its_network(value: str, expected: str) -> None:
    assert mask(value, MaskStrategy.IP) == expected


@pytest.mark.parametrize(
    "value", ["999.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4:8080", "10.0.0.0/8", "host.example", "::g"]
)
def test_invalid_ip_is_fully_redacted(value: str) -> None:
    assert mask(value, MaskStrategy.IP) == REDACTED


@pytest.mark.parametrize("value", ["Hello, my card is 4111 1111 1111 1111", "x", "😀"])
def test_free_text_is_always_fully_redacted(value: str) -> None:
    assert mask(value, MaskStrategy.TEXT) == REDACTED


def test_unknown_strategy_fails_closed() -> None:
    assert mask("john@example.com", "bogus") == REDACTED  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------


@given(value=st.text(), strategy=st.sampled_from(MaskStrategy))
def test_mask_never_raises_and_never_returns_the_raw_value(
    value: str, strategy: MaskStrategy
) -> None:
    masked = mask(value, strategy)

    assert isinstance(masked, str)
    # A value that already *is* a mask (contains the filler, or is "[redacted]") may
    # legitimately map to itself; anything else must come out changed.
    if "•" not in value and value != REDACTED:
        assert masked != value


@given(email=st.emails(), hidden=st.text(min_size=1, max_size=30))
def test_email_mask_ignores_everything_but_the_shown_characters(email: str, hidden: str) -> None:
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    other_local = local[0] + hidden.replace("@", "")
    other_domain = ".".join([labels[0][0] + "x" * len(hidden), *labels[1:-1], labels[-1]])

    assert mask_email(email) == mask_email(f"{other_local}@{other_domain}")
    assert mask_email(email) != email


@given(digits=st.text(alphabet="0123456789", min_size=7, max_size=20))
def test_phone_mask_keeps_only_the_last_two_digits(digits: str) -> None:
    assert mask_phone(digits) == "•••••••" + digits[-2:]


@given(address=st.ip_addresses(v=4))
def test_ipv4_mask_is_the_same_for_every_address_in_the_slash_24(
    address: ipaddress.IPv4Address,
) -> None:
    network = ipaddress.IPv4Network((int(address), 24), strict=False)
    neighbour = network.network_address + (int(address) * 7 % 256)

    assert mask_ip(str(address)) == mask_ip(str(neighbour)) == str(network)


@given(address=st.ip_addresses(v=6))
def test_ipv6_mask_never_contains_the_host_part(address: ipaddress.IPv6Address) -> None:
    masked = mask_ip(str(address))

    assert masked.endswith(("/24", "/40", "/48"))
    assert ipaddress.ip_address(str(address).split("%")[0]) in ipaddress.ip_network(
        masked if not masked.endswith("/24") else f"::ffff:{masked[:-3]}/120"
    )


LETTERS = st.characters(categories=["Lu", "Ll", "Lo"])


@given(words=st.lists(st.text(alphabet=LETTERS, min_size=2, max_size=12), min_size=1))
def test_name_mask_is_only_initials(words: list[str]) -> None:
    masked = mask_name(" ".join(words))

    shown = masked.split(" ")
    assert len(shown) <= 4
    assert all(len(part) == 2 and part.endswith(".") for part in shown)
