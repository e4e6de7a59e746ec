"""Word lists for the demo data: plausible, made-up people and places around two Fangshan towns."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Town:
    center_name: str
    town: str
    district: str
    address: str
    latitude: float  # as picked on AMap: GCJ-02 (the seed stores WGS-84, like every position)
    longitude: float
    places: tuple[str, ...]  # villages and communities for addresses
    residents: int
    workers: int
    manager: str  # the manager's username
    worker_prefix: str


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏"
    "钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文"
)
FEMALE_GIVEN = (
    "桂兰",
    "秀英",
    "淑珍",
    "玉兰",
    "凤英",
    "秀兰",
    "淑兰",
    "桂英",
    "秀珍",
    "玉珍",
    "素芬",
    "凤兰",
    "桂芝",
    "秀云",
    "玉梅",
    "淑芬",
    "翠华",
    "金凤",
    "丽华",
    "慧敏",
    "美玲",
    "春梅",
    "秋菊",
    "冬梅",
    "彩霞",
    "玉芳",
)
MALE_GIVEN = (
    "建国",
    "国华",
    "德明",
    "志强",
    "振华",
    "福生",
    "长林",
    "永祥",
    "宝山",
    "金海",
    "文斌",
    "树森",
    "玉林",
    "德胜",
    "国庆",
    "建华",
    "广才",
    "守信",
    "世昌",
    "连生",
    "万福",
    "有才",
    "春生",
    "家栋",
    "卫东",
    "海涛",
)
WORKER_GIVEN = ("晓燕", "丽娜", "海燕", "春燕", "红梅", "静", "敏", "娟", "伟", "磊", "强", "婷婷", "雪梅", "志刚")

CONDITIONS = (
    "高血压",
    "2型糖尿病",
    "冠心病",
    "慢阻肺",
    "骨质疏松",
    "脑卒中后遗症",
    "帕金森病",
    "慢性心衰",
    "关节炎",
    "白内障",
)
ALLERGIES = ("青霉素", "磺胺类药物", "海鲜", "花粉", "头孢类药物", "鸡蛋")
MEDICATIONS = ("氨氯地平", "二甲双胍", "阿司匹林", "阿托伐他汀", "缬沙坦", "美托洛尔", "左旋多巴", "钙片")

TOWNS = (
    Town(
        center_name="长阳镇养老服务中心",
        town="长阳镇",
        district="房山区",
        address="北京市房山区长阳镇长政南街1号",
        latitude=39.7634,
        longitude=116.2108,
        places=(
            "长阳村",
            "葫芦垡村",
            "高岭村",
            "保合庄村",
            "稻田村",
            "阎仙垡村",
            "水碾屯村",
            "夏场村",
            "篱笆房村",
            "长阳半岛社区",
            "加州水郡社区",
            "天星街社区",
            "碧桂园社区",
            "云湾家园",
        ),
        residents=320,
        workers=12,
        manager="manager",
        worker_prefix="worker",
    ),
    Town(
        center_name="窦店镇养老服务中心",
        town="窦店镇",
        district="房山区",
        address="北京市房山区窦店镇京周路8号",
        latitude=39.6606,
        longitude=116.0546,
        places=("窦店村", "芦村", "交道村", "田家园村", "白草洼村", "一街村", "二街村", "窦店镇佳世苑社区"),
        residents=90,
        workers=4,
        manager="dd_manager",
        worker_prefix="dd_worker",
    ),
)

# (medicine, dose, note): what the demo's care plans give at the visits (made-up plans, common medicines).
DEMO_MEDICINES = [
    ("氨氯地平片", "5 mg", "饭后"),
    ("二甲双胍片", "0.5 g", "随餐"),
    ("阿司匹林肠溶片", "100 mg", "饭前"),
    ("阿托伐他汀钙片", "20 mg", ""),
]
