"""The UI's words in zh-CN and en, and dates in the center's zone in the user's locale (Babel)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

LANGUAGES = ("zh-CN", "en")
LOCALES = {"zh-CN": "zh_CN", "en": "en"}

CATALOG: dict[str, dict[str, str]] = {
    "app": {"zh-CN": "CareCenter 养老服务", "en": "CareCenter"},
    "login": {"zh-CN": "登录", "en": "Log in"},
    "logout": {"zh-CN": "退出", "en": "Log out"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "today": {"zh-CN": "今日上门", "en": "Today"},
    "alerts": {"zh-CN": "告警", "en": "Alerts"},
    "board": {"zh-CN": "告警看板", "en": "Alert board"},
    "no_visits": {"zh-CN": "今天没有安排上门服务。", "en": "No visits today."},
    "no_alerts": {"zh-CN": "当前没有未处理的告警。", "en": "No open alerts."},
    "check_in": {"zh-CN": "到达签到", "en": "Check in"},
    "check_out": {"zh-CN": "离开签退", "en": "Check out"},
    "checklist": {"zh-CN": "服务项目", "en": "Checklist"},
    "done": {"zh-CN": "已完成", "en": "Done"},
    "mark_done": {"zh-CN": "完成", "en": "Mark done"},
    "undo": {"zh-CN": "撤销", "en": "Undo"},
    "notes": {"zh-CN": "备注", "en": "Notes"},
    "save": {"zh-CN": "保存", "en": "Save"},
    "vitals": {"zh-CN": "体征", "en": "Vitals"},
    "systolic": {"zh-CN": "收缩压", "en": "Systolic"},
    "diastolic": {"zh-CN": "舒张压", "en": "Diastolic"},
    "heart_rate": {"zh-CN": "心率", "en": "Heart rate"},
    "temperature": {"zh-CN": "体温", "en": "Temperature"},
    "blood_glucose": {"zh-CN": "血糖", "en": "Blood glucose"},
    "concern": {"zh-CN": "反映情况", "en": "Raise a concern"},
    "status": {"zh-CN": "状态", "en": "Status"},
    "risks": {"zh-CN": "风险提示", "en": "Risks"},
    "allergies": {"zh-CN": "过敏", "en": "Allergies"},
    "dementia": {"zh-CN": "认知障碍", "en": "Dementia"},
    "lives_alone": {"zh-CN": "独居", "en": "Lives alone"},
    "phone": {"zh-CN": "电话", "en": "Phone"},
    "address": {"zh-CN": "地址", "en": "Address"},
    "contacts": {"zh-CN": "家属联系人", "en": "Family contacts"},
    "call": {"zh-CN": "拨打", "en": "Call"},
    "recent_vitals": {"zh-CN": "近期心率", "en": "Recent heart rate"},
    "visit_history": {"zh-CN": "上门记录", "en": "Visit history"},
    "alert_history": {"zh-CN": "告警记录", "en": "Alert history"},
    "acknowledge": {"zh-CN": "确认接警", "en": "Acknowledge"},
    "on_site": {"zh-CN": "已到现场", "en": "On site"},
    "resolve": {"zh-CN": "处理完毕", "en": "Resolve"},
    "outcome": {"zh-CN": "处理结果", "en": "Outcome"},
    "opened": {"zh-CN": "发生时间", "en": "Opened"},
    "since": {"zh-CN": "已持续", "en": "Open for"},
    "notified": {"zh-CN": "已通知", "en": "Notified"},
    "resident": {"zh-CN": "老人", "en": "Resident"},
    "kind": {"zh-CN": "类型", "en": "Kind"},
    "live": {"zh-CN": "实时更新中", "en": "Live"},
    "language": {"zh-CN": "语言", "en": "Language"},
    "scheduled": {"zh-CN": "待上门", "en": "Scheduled"},
    "in_progress": {"zh-CN": "服务中", "en": "In progress"},
    "completed": {"zh-CN": "已完成", "en": "Completed"},
    "missed": {"zh-CN": "漏访", "en": "Missed"},
    "cancelled": {"zh-CN": "已取消", "en": "Cancelled"},
    "open": {"zh-CN": "待处理", "en": "Open"},
    "acknowledged": {"zh-CN": "已接警", "en": "Acknowledged"},
    "resolved": {"zh-CN": "已处理", "en": "Resolved"},
    "auto_cleared": {"zh-CN": "已自动解除", "en": "Cleared"},
    "late": {"zh-CN": "迟到", "en": "Late"},
    "far_from_home": {"zh-CN": "签到位置离家较远", "en": "Checked in far from home"},
    "forbidden": {
        "zh-CN": "请求无效或已过期，请刷新页面后重试。",
        "en": "This form has expired; reload the page and try again.",
    },
    "queued": {"zh-CN": "排队中", "en": "queued"},
    "sending": {"zh-CN": "发送中", "en": "sending"},
    "retrying": {"zh-CN": "重试中", "en": "retrying"},
    "sent": {"zh-CN": "已发送", "en": "sent"},
    "delivered": {"zh-CN": "已送达", "en": "delivered"},
    "undelivered": {"zh-CN": "未送达", "en": "undelivered"},
    "failed": {"zh-CN": "发送失败", "en": "failed"},
    "suppressed": {"zh-CN": "未发送", "en": "not sent"},
    "minutes": {"zh-CN": "分钟", "en": "min"},
    "schedule": {"zh-CN": "排班", "en": "Schedule"},
    "messages": {"zh-CN": "短信记录", "en": "Messages"},
    "figures": {"zh-CN": "统计", "en": "Figures"},
    "unassigned": {"zh-CN": "未分配", "en": "Unassigned"},
    "worker": {"zh-CN": "护理员", "en": "Care worker"},
    "assign": {"zh-CN": "分配", "en": "Assign"},
    "previous_week": {"zh-CN": "上一周", "en": "Previous week"},
    "next_week": {"zh-CN": "下一周", "en": "Next week"},
    "to": {"zh-CN": "收件人", "en": "To"},
    "purpose": {"zh-CN": "用途", "en": "Purpose"},
    "text": {"zh-CN": "内容", "en": "Text"},
    "time": {"zh-CN": "时间", "en": "Time"},
    "answered_60": {"zh-CN": "60秒内接警比例", "en": "Answered within 60 s"},
    "answered_180": {"zh-CN": "180秒内接警比例", "en": "Answered within 180 s"},
    "ack_median": {"zh-CN": "接警时间中位数（秒）", "en": "Median time to answer (s)"},
    "on_time": {"zh-CN": "准时上门比例", "en": "On-time visits"},
    "planned": {"zh-CN": "计划", "en": "Planned"},
    "download_csv": {"zh-CN": "下载CSV", "en": "Download CSV"},
    "last_30_days": {"zh-CN": "近30天", "en": "Last 30 days"},
    "search": {"zh-CN": "搜索", "en": "Search"},
    "new": {"zh-CN": "新建", "en": "New"},
    "edit": {"zh-CN": "编辑", "en": "Edit"},
    "residents": {"zh-CN": "老人档案", "en": "Residents"},
    "staff_list": {"zh-CN": "员工", "en": "Staff"},
    "devices": {"zh-CN": "设备", "en": "Devices"},
    "key_once": {
        "zh-CN": "设备密钥（仅显示一次，请写入设备）：",
        "en": "Device key (shown once; put it in the device):",
    },
    "self_care": {"zh-CN": "自理", "en": "Self-care"},
    "semi_dependent": {"zh-CN": "半失能", "en": "Semi-dependent"},
    "dependent": {"zh-CN": "失能", "en": "Dependent"},
    "active": {"zh-CN": "在册", "en": "Active"},
    "hospitalized": {"zh-CN": "住院", "en": "In hospital"},
    "moved_out": {"zh-CN": "已迁出", "en": "Moved out"},
    "deceased": {"zh-CN": "已故", "en": "Deceased"},
    "female": {"zh-CN": "女", "en": "Female"},
    "male": {"zh-CN": "男", "en": "Male"},
    "care_worker": {"zh-CN": "护理员", "en": "Care worker"},
    "manager": {"zh-CN": "站长", "en": "Manager"},
    "admin": {"zh-CN": "管理员", "en": "Admin"},
    "bathing": {"zh-CN": "助浴", "en": "Bathing"},
    "meals": {"zh-CN": "助餐", "en": "Meals"},
    "medication": {"zh-CN": "用药", "en": "Medication"},
    "health_check": {"zh-CN": "健康检查", "en": "Health check"},
    "cleaning": {"zh-CN": "保洁", "en": "Cleaning"},
    "companionship": {"zh-CN": "陪伴聊天", "en": "Companionship"},
    "shopping": {"zh-CN": "代购", "en": "Shopping"},
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "zh-CN"


def translate(key: str, language: str) -> str:
    words = CATALOG.get(key)
    return words.get(language, words["zh-CN"]) if words else key


def local_time(moment: datetime | None, time_zone: str, language: str, pattern: str = "short") -> str:
    """A moment in the center's time zone, written the way the user's locale writes it."""
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(ZoneInfo(time_zone)), pattern, locale=LOCALES[language_of(language)])
