"""Every SMS text in one place: English msgids, put into the recipient's language by the catalog.

PIPL minimum necessary: who, what kind of alert, when, where, the link. Never a diagnosis,
a medication or an ID number. Critical alert texts are fitted into two segments by shortening
the place, the only part that can be long.
"""

from collections.abc import Mapping

from carecommon.i18n import N_, gettext, language_of
from notifications.segments import count_segments

TEMPLATES: Mapping[str, str] = {
    "alert": N_("[{center}] URGENT #{code}: {who} - {what} at {when}, {where}. Respond: {link}"),
    "alert_nearby": N_(
        "[{center}] URGENT #{code}: {who} - {what} at {when}, {where}, {distance} m from you. Respond: {link}"
    ),
    "alert_reminder": N_("[{center}] STILL OPEN #{code}: {who} - {what} since {when}, {where}. Respond: {link}"),
    "alert_outcome": N_("[{center}] {who} - {what} has been handled: {outcome}."),
    "alert_info": N_("[{center}] Notice: {who} - {what}, {when}."),
    "visit_reminder": N_("[{center}] Reminder: visit {who} at {when}, {where}."),
    "visit_completed": N_("[{center}] Today's home visit to {who} was completed ({when})."),
    "visit_late": N_("[{center}] Your {when} visit to {who} has no check-in yet; please go now or call the center."),
    "visit_missed": N_(
        "[{center}] Missed visit: {worker}'s {when} visit to {who} has no check-in after {minutes} minutes."
    ),
    "visit_concern": N_("[{center}] {worker} raised a concern during the visit to {who}; please check the record."),
    "manager_summary": N_(
        "[{center}] Today: {planned} visits planned, {completed} completed, {missed} missed, {alerts} alerts."
    ),
    "medication_missed": N_("[{center}] Medication for {who}: {medicine} was {outcome}. {reason} Please follow up."),
    "medication_refused": N_("refused"),
    "medication_not_available": N_("not available"),
    "summary_assessments": N_("Assessments due or overdue: {count} ({names})."),
    "summary_welfare": N_("Living alone, not seen in time: {count} ({names})."),
    "digest": N_("[{center}] Today: {summary}"),
    "summary": N_("[CareCenter] More notifications arrived in the past hour; please contact the center for details."),
    "test": N_("[CareCenter] Test message: the SMS channel works."),
    "incident_opened": N_(
        "[{center}] OUTAGE: {count} devices ({share}%) silent since {since}; last frames through {carrier}. "
        "Their alerts are held; SOS and falls still come."
    ),
    "network_unknown": N_("no single network"),
    "incident_closed": N_(
        "[{center}] Outage over: {back} of {count} devices are back; {still} still silent, alerted one by one."
    ),
    "system_down": N_("[CareCenter] SYSTEM PROBLEM: {what}. Alerts may not reach people; please check now."),
    "system_recovered": N_("[CareCenter] Recovered: {what}."),
    "family_link": N_("[{center}] Follow {who}'s visits and alerts on this page (valid 90 days): {link}"),
    "test_call": N_("This is a test call from CareCenter. The phone channel works."),
    "call_alert": N_("CareCenter, {center}. {what}: {who}, {ago}. Address: {where}. {answered}"),
    "call_keys": N_(
        "Press 1 if you are going and take charge. Press 2 if you cannot go. "
        "Press 5 to call the next people now. Press 9 to hear this again."
    ),
    "call_nobody_yet": N_("Nobody has answered yet."),
    "call_answered_by": N_("{who} has already answered."),
    "call_minutes_ago": N_("{minutes} minutes ago"),
    "call_just_now": N_("just now"),
    "call_distance": N_("You are about {distance} metres away."),
    "call_thanks_going": N_("You have taken the alert; please get there as soon as you can. The others will be told."),
    "call_thanks_escalate": N_("The next people are being called now."),
    "call_thanks_cannot": N_("Thank you. We are calling the next person."),
    "call_goodbye": N_("No key was pressed. We will call the next person. Goodbye."),
    "reply_help": N_("CareCenter: reply 1 or OK to acknowledge an alert, STOP to unsubscribe, START to resubscribe."),
    "reply_opted_out": N_("CareCenter: you will receive no more messages. Reply START to resubscribe."),
    "reply_opted_in": N_("CareCenter: you will receive messages again."),
    "reply_acknowledged": N_("CareCenter: acknowledged, thank you. You are handling {who} - {what}."),
    "reply_nothing_pending": N_("CareCenter: you have no alert waiting for acknowledgement."),
}


def render(name: str, language: str | None, **params: str) -> str:
    """The text of template `name` in `language` (zh-CN when unknown)."""
    return gettext(TEMPLATES[name], language_of(language)).format(**params)


def render_within(name: str, language: str | None, *, max_segments: int, shrink: str, **params: str) -> str:
    """Render, shortening `params[shrink]` (with an ellipsis) until the text fits `max_segments`."""
    value = params[shrink]
    text = render(name, language, **params)
    while count_segments(text).segments > max_segments and value:
        value = value[:-1]
        text = render(name, language, **(params | {shrink: value + "…"}))
    return text
