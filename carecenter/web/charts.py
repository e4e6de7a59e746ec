"""A resident's vital signs over 30 days as SVG charts, drawn on the server by Matplotlib.

Matplotlib draws the time axis, the value axis with its unit, the lines, the resident's normal
band (shaded between the thresholds, its edges dashed) and the alerts (marked where they
opened). The SVG is served as an image: the page's CSP stays strict (no inline style or script
reaches the page) and nothing comes from outside the app. Its text stays text (the browser's
fonts draw Chinese, the server needs none). Each chart has a table beside it, day by day, for
those who cannot see it.
"""

import io
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from carecenter.thresholds import Thresholds
from carecommon.i18n import N_

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_POINTS = 360  # a 30-day line of 2-hour means: a smooth line, a light file


@dataclass(frozen=True)
class Sign:
    """One chart: the vital signs drawn on it, its unit, its threshold band and its alerts."""

    title: str  # a msgid
    unit: str
    vitals: tuple[str, ...]
    limits: tuple[str, ...]  # Thresholds fields drawn as the band's edges
    alert_kinds: tuple[str, ...]


SIGNS: dict[str, Sign] = {
    "heart_rate": Sign(
        N_("Heart rate"), "bpm", ("heart_rate",), ("heart_rate_low", "heart_rate_high"),
        ("heart_rate_high", "heart_rate_low"),
    ),
    "blood_pressure": Sign(
        N_("Blood pressure"), "mmHg", ("systolic", "diastolic"), ("systolic_low", "systolic_high", "diastolic_high"),
        ("blood_pressure_high", "blood_pressure_low"),
    ),
    "spo2": Sign(N_("Blood oxygen"), "%", ("spo2",), ("spo2_low",), ("spo2_low",)),
    "temperature": Sign(
        N_("Temperature"), "°C", ("temperature",), ("temperature_low", "temperature_high"),
        ("temperature_high", "temperature_low"),
    ),
}  # fmt: skip

LINE_COLOURS = ("#0b5cad", "#7b3fa0")  # AA contrast on white
ALERT_COLOUR = "#b42318"
BAND_COLOUR = "#2f7d32"
SVG: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "carecenter"}  # text as text; ids the same on each draw


@cache
def _matplotlib() -> ModuleType:
    """Matplotlib, imported by the first chart drawn: importing it costs every process 0.4 s at
    start, and most processes (the gateway, the scheduler, the workers) never draw."""
    import matplotlib
    import matplotlib.dates
    import matplotlib.figure

    matplotlib.use("Agg")  # no display: files only
    return matplotlib


def _figure(height: float) -> "Figure":
    figure: Figure = _matplotlib().figure.Figure(figsize=(8, height), dpi=100, layout="constrained")
    return figure


def thinned(series: list[tuple[datetime, float]], most: int = MAX_POINTS) -> list[tuple[datetime, float]]:
    """At most `most` points: means of equal stretches of time (a line, not a smear)."""
    if len(series) <= most:
        return series
    first, last = series[0][0], series[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    buckets: dict[int, list[tuple[datetime, float]]] = {}
    for at, value in series:
        buckets.setdefault(min(int((at - first).total_seconds() / span * most), most - 1), []).append((at, value))
    return [(group[len(group) // 2][0], sum(v for _, v in group) / len(group)) for _, group in sorted(buckets.items())]


def daily(series: list[tuple[datetime, float]], zone: ZoneInfo) -> list[tuple[date, float, float, float]]:
    """Each local day's lowest, mean and highest value: the chart's table."""
    days: dict[date, list[float]] = {}
    for at, value in series:
        days.setdefault(at.astimezone(zone).date(), []).append(value)
    return [(day, min(v), sum(v) / len(v), max(v)) for day, v in sorted(days.items())]


def chart_svg(
    sign: Sign,
    lines: dict[str, list[tuple[datetime, float]]],
    thresholds: Thresholds,
    alerts: list[datetime],
    *,
    since: datetime,
    now: datetime,
    zone: ZoneInfo,
    names: dict[str, str],
) -> bytes:
    """The chart as an SVG document; `names` are the words (in the reader's language) for the
    title, each vital, each limit and the alerts."""
    figure = _figure(3.2)
    axes = figure.add_subplot()
    for colour, vital in zip(LINE_COLOURS, sign.vitals, strict=False):
        points = thinned(lines.get(vital, []))
        times = [_x(at) for at, _ in points]
        axes.plot(times, [v for _, v in points], color=colour, linewidth=1.8, label=names[vital])
    limits = [float(getattr(thresholds, limit)) for limit in sign.limits]
    lows = [v for limit, v in zip(sign.limits, limits, strict=True) if limit.endswith("_low")]
    highs = [v for limit, v in zip(sign.limits, limits, strict=True) if limit.endswith("_high")]
    low, high = _range(lines, limits)
    axes.axhspan(max(lows, default=low), max(highs, default=high), color=BAND_COLOUR, alpha=0.08, linewidth=0)
    for limit, value in zip(sign.limits, limits, strict=True):
        axes.axhline(value, color=BAND_COLOUR, linestyle="--", linewidth=1, label=names[limit])
    if alerts:
        level = highs[0] if highs else limits[0]
        marks = [_x(at) for at in alerts]
        axes.plot(marks, [level] * len(marks), "v", color=ALERT_COLOUR, markersize=9, label=names["alerts"])
    axes.set_xlim(_x(since), _x(now))
    axes.set_ylim(low, high)
    axes.set_title(f"{names[sign.title]} ({sign.unit})", loc="left", fontsize=12)
    axes.set_ylabel(sign.unit)
    dates = _matplotlib().dates
    axes.xaxis.set_major_locator(dates.DayLocator(interval=5, tz=zone))
    axes.xaxis.set_major_formatter(dates.DateFormatter("%m-%d", tz=zone))
    axes.grid(axis="y", color="#d9e2ec", linewidth=0.8)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    return _svg(figure)


def _svg(figure: "Figure") -> bytes:
    """The figure as an SVG document, its text left as text."""
    out = io.BytesIO()
    with _matplotlib().rc_context(SVG), warnings.catch_warnings():
        # The browser's fonts draw the text; the server measuring Chinese with a font that lacks
        # it only places the legend a little loosely.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _x(at: datetime) -> float:
    """A moment as Matplotlib's date axis counts it."""
    return float(_matplotlib().dates.date2num(at))


def _range(lines: dict[str, list[tuple[datetime, float]]], limits: list[float]) -> tuple[float, float]:
    """The value axis: the data and the band, with a margin."""
    values = [v for series in lines.values() for _, v in series] + limits
    low, high = min(values), max(values)
    margin = max((high - low) * 0.1, 1.0)
    return (low - margin, high + margin)


def trend_svg(title: str, unit: str, weeks: list[date], values: list[float | None]) -> bytes:
    """Weekly bars (a week without a value is left empty), each week named by its Monday."""
    figure = _figure(2.8)
    axes = figure.add_subplot()
    positions = list(range(len(weeks)))
    axes.bar(positions, [v if v is not None else 0.0 for v in values], color=LINE_COLOURS[0], width=0.7)
    axes.set_xticks(positions, [week.strftime("%m-%d") for week in weeks])
    axes.set_title(f"{title} ({unit})" if unit else title, loc="left", fontsize=12)
    axes.grid(axis="y", color="#d9e2ec", linewidth=0.8)
    axes.set_axisbelow(True)
    return _svg(figure)
