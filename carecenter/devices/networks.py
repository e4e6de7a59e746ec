"""Mobile networks as the devices report them: MCC-MNC ("460-00"), and the carrier behind each.

MCC and MNC are ITU-T E.212's mobile country and network codes; the MNCs of mainland China's
carriers are those of the ITU's list of mobile network codes (Operational Bulletin annex,
"Mobile Network Codes (MNC) for the international identification plan for public networks and
subscriptions"). An outage that silences a district's watches often has one carrier behind it.
"""

from carecommon.i18n import language_of

CARRIERS: dict[str, tuple[str, str]] = {  # network -> (English, Chinese)
    **dict.fromkeys(("460-00", "460-02", "460-04", "460-07", "460-08"), ("China Mobile", "中国移动")),
    **dict.fromkeys(("460-01", "460-06", "460-09"), ("China Unicom", "中国联通")),
    **dict.fromkeys(("460-03", "460-05", "460-11"), ("China Telecom", "中国电信")),
    "460-15": ("China Broadnet", "中国广电"),
}


def network(mcc: int, mnc: int) -> str | None:
    """ "460-00" for MCC 460, MNC 0; None for values no network has (a device's zeros or garbage)."""
    if not (200 <= mcc <= 799 and 0 <= mnc <= 999):
        return None
    return f"{mcc}-{mnc:02d}"


def network_of_text(mcc: str, mnc: str) -> str | None:
    """The same from a text protocol's fields."""
    if not (mcc.strip().isdigit() and mnc.strip().isdigit()):
        return None
    return network(int(mcc), int(mnc))


def carrier(network: str, language: str | None) -> str:
    """The carrier's name in `language` ("中国移动"), or the network code when it is not a known one."""
    names = CARRIERS.get(network)
    if names is None:
        return network
    return names[1] if language_of(language).startswith("zh") else names[0]
