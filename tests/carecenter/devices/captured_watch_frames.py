"""Watch frames captured by others, byte for byte, with what CareCenter must answer and store.

Source: the public test suite of traccar, the most widely deployed open-source tracker server
(Apache-2.0): src/test/java/org/traccar/protocol/WatchProtocolDecoderTest.java and
WatchFrameDecoderTest.java. Only the frames are taken (data), not code; the expectations are
CareCenter's own. Many of these frames carry a LEN that disagrees with their content (the
`SG*` vendors' +3): they must be read all the same.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Captured:
    raw: bytes
    answer: str | None  # the answer's content, or None for no answer
    kinds: tuple[str, ...]  # the readings stored, in order
    values: dict[str, Any] = field(default_factory=dict)  # fields of the first reading


def _c(raw: str | bytes, answer: str | None, *kinds: str, **values: Any) -> Captured:
    return Captured(raw.encode() if isinstance(raw, str) else raw, answer, kinds, values)


FRAMES: list[Captured] = [
    # WatchProtocolDecoderTest.testDecode
    _c(
        "[3G*9031853319*004E*UD2,220322,055105,A,22.761162,N,114.360192,E,0,0,47,14,100,64,0,0,00000008,0,0]",
        None,
        "location",
        latitude=22.761162,
        longitude=114.360192,
        battery_pct=64,
    ),
    _c("[3G*2104326058*000E*btemp2,1,35.29]", None, "vitals", temperature=35.29),
    _c(
        "[SG*9159059735*0066*UD2,230322,082138,A,59.55285,N,016.66185,E,0.0,000,26,14,80,70,0,50,00000000,1,1,240,7,"
        "34505,80806406,,00]",
        None,
        "location",
        latitude=59.55285,
        longitude=16.66185,
    ),
    _c(
        "[SG*9059056143*0053*UD,251021,223408,A,41.46500,N,081.53128,W,0.926,000,0,00,70,70,0,50,00000000,0,1,,,,00]",
        None,
        "location",
        latitude=41.465,
        longitude=-81.53128,
    ),
    _c(
        "[3G*2104326058*00E9*UD_LTE,300621,135101,A,32.162652,N,34.888748,E,30.84,265.158,65.621,18,100,83,0,0,"
        "00000000,1,1,425,01,10223,8012811,100,3,ES4104,22:74:1d:39:64:ff,-46,metropoline-wifi,a8:3f:a1:e0:66:ba,"
        "-89,Egged.co.il,00:0c:42:51:cf:cd,-81,1.7055488]",
        None,
        "location",
    ),
    _c(
        "[3G*358839237678820*0122*ALCUSTOMER1,251120,081821,V,0.0,N,0.0,E,2.58,317.462,35.147,14,100,2,11089,0,"
        "00100008,1,1,460,01,42308,101992452,100,5,shizhou1,44:56:e2:03:ea:2a,-69,FART3,30:0d:9e:bb:fa:4d,-70,"
        "ZKY-A209,88:c3:97:c1:f4:7f,-73,ChinaNet-HNeD,e8:84:c6:21:7c:dc,-77,,30:45:96:10:14:5d,-79,1.2035439]",
        "AL",
        "heartbeat",
        "removed",
    ),
    _c(
        "[3G*0304187088*0100*UD_WCDMA,100720,094202,V,0.0,N,0.0,E,22.0,0,-1,21,75,92,0,0,00000000,1,1,425,01,10192,"
        "1282125,75,5,Inet,04:f0:21:46:1f:57,-54,iNetSecurity,00:1e:42:25:2f:3e,-71,Gilad,58:d5:6e:9d:1b:af,-80,"
        "weekend,14:ae:db:cb:99:25,-82,advancemed1,04:f0:21:4c:c8:3e,-89,0.0]",
        None,
        "heartbeat",
    ),
    _c(
        "[3G*8809008845*00C0*AL,271219,094744,V,00.000000,N, 0.0000000,E,0.00,0.0,0.0,0,100,81,0,0,00010000,7,0,460,"
        "0,9336,3981,141,9336,3912,141,9336,3982,140,9765,4233,134,9765,4071,134,9765,4321,134,9336,4353,132,0,0.0]",
        "AL",
        "heartbeat",
        "sos",
    ),
    _c(
        "[3G*2104134718*00A1*UD_WCDMA,161019,134938,A,43.373367,N,71.157615,W,22.0,350.206,279.717,17,28,79,0,0,"
        "00000000,1,1,310,410,23999,132013696,28,1,Home2,60:45:cb:cb:34:68,-93,8.263865]",
        None,
        "location",
        longitude=-71.157615,
    ),
    _c(
        "[ZJ*014111001332708*0075*0064*AL,040418,052156,A,22.536207,N,113.938673,E,0,0,0,5,100,82,1000,50,00100000,"
        "1,255,460,0,9340,3663,35]",
        "AL",
        "location",
        "removed",
    ),
    _c(
        "[SG*352661090143150*006C*UD,150817,132115,V,28.435142,N,81.354333,W,2.2038,000,99,00,70,100,0,50,00000000,"
        "1,1,310,260,1091,30082,139,,00]",
        None,
        "heartbeat",
        battery_pct=100,
    ),
    _c("[3G*4700609403*0013*bphrt,120,79,73,,,,]", None, "vitals", systolic=120, diastolic=79, heart_rate=73),
    _c("[ZJ*357653059860416*0007*000c*BLOOD,109,68]", None, "vitals", systolic=109, diastolic=68),
    _c(
        "[3G*8308373902*0080*AL,230817,095346,A,47.083950,N,15.4821850,E,7.60,273.8,0.0,4,15,44,0,0,00200010,2,255,"
        "232,1,7605,42530,118,7605,58036,119,0,65.8]",
        "AL",
        "location",
        "fall",
    ),
    _c(
        "[3G*6005412902*011F*WT,170517,133811,V,18.512200,N,73.7750283,E,0.00,0.0,0.0,0,92,82,4262,0,00000010,2,1,"
        "404,22,10125,8301,141,10125,13921,122,5,Skynet,28:c6:8e:be:87:c0,-60,Intel Wi-Fi,4c:60:de:32:3d:38,-70,"
        "Nirvanic-2,40:e3:d6:4a:d9:c2,-73,A4-Guest,40:e3:d6:4a:d9:c4,-73,A4Idatix,40:e3:d6:4a:d9:c3,-73,13.8]",
        None,
        "heartbeat",
        steps=4262,
    ),
    _c(
        "[3G*8308406279*00CC*UD3,170417,190930,V,54.739618,N,25.273213,E,0.0,323.53,175.1,6,51,83,0,0,00000000,1,1,"
        "246,01,200,13242758,51,3,TEO-189835,00:8c:54:58:1d:64,-84,Cgates_7137,78:54:2e:e3:71:37,-85,ASUS,"
        "9c:5c:8e:b8:d4:78,-93]",
        None,
        "heartbeat",
    ),
    _c(
        "[SG*9051004074*0058*AL,120117,145602,V,40.058413,N,76.336618,W,11.519,188,99,00,01,80,0,50,00000000,0,1,0,0,"
        ",10]",
        "AL",
        "heartbeat",
    ),
    _c(
        "[SG*9051000884*009B*UD,030117,161129,V,52.745450,N,0.369512,,0.1481,000,99,00,70,5,0,50,00000000,5,1,234,15,"
        "893,3611,135,893,3612,132,893,3993,131,893,30986,129,893,40088,126,,00]",
        None,
        "heartbeat",
    ),
    _c(
        "[3G*6105117105*008D*UD2,210716,231601,V,-33.480366,N,-70.7630692,E,0.00,0.0,0.0,0,100,34,0,0,00000000,3,255,"
        "730,2,29731,54315,167,29731,54316,162,29731,54317,145]",
        None,
        "heartbeat",
    ),
    _c(
        "[3G*4700222306*011F*UD2,120316,140444,A,48.779045,N, 9.1574736,E,0.57,12.8,0.0,7,28,77,0,0,00000000,2,2,262,"
        "1,21041,9067,121,21041,5981,116,5,WG-Superlativ,34:31:c4:c8:a9:22,-67,EasyBox-28E858,18:83:bf:28:e8:f4,-70,"
        "MoMaXXg,be:05:43:b7:19:15,-72,MoMaXX2,bc:05:43:b7:19:15,-72,Gastzugang,18:83:bf:28:e8:f5,-72]",
        None,
        "location",
        latitude=48.779045,
        longitude=9.1574736,
    ),
    _c("[SG*9081000548*0009*LK,0,100]", "LK", "heartbeat"),  # LEN 9 for 8 bytes
    _c(
        "[3G*2256002206*0079*UD2,100116,153723,A,38.000000,N,-9.000000,W,0.44,299.3,0.0,7,100,86,0,0,00000008,2,0,268,"
        "3,3010,51042,146,3010,51043,132]",
        None,
        "location",
        latitude=38.0,
        longitude=-9.0,
    ),
    _c("[3G*8800000015*0003*TKQ]", "TKQ"),
    _c("[SG*8800000015*0002*LK]", "LK", "heartbeat"),
    _c("[3G*4700186508*000B*LK,0,10,100]", "LK", "heartbeat", battery_pct=100, steps=0),
    _c(
        "[SG*8800000015*0087*UD,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,0000,4,1,460,0,"
        "9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]",
        None,
        "location",
        latitude=22.571707,
        longitude=113.8613968,
        battery_pct=90,
        steps=1000,
    ),
    _c(
        "[SG*8800000015*0087*AL,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,0001,4,1,460,0,"
        "9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]",
        "AL",
        "location",
        "low_battery",
    ),
    _c("[CS*8800000015*0008*PULSE,72]", None, "vitals", heart_rate=72),
    _c("[3G*6005412902*0007*heart,0]", None),  # 0: no measurement (the watch is not worn)
    _c("[3G*6005412902*0008*heart,71]", None, "vitals", heart_rate=71),
    _c(
        "[ZJ*014111001350304*0033*0064*UD,070318,020827,V,00.000000,N,000.000000,E,0,0,0,0,100,19,1000,50,00000000,1,"
        "255,460,0,9346,5223,42]",
        None,
        "heartbeat",
    ),
    _c(
        "[3G*8800000015*00DD*UD,010120,025946,V,0.0,N,0.0,E,22.0,0,-1,0,100,98,0,0,00000000,0,5,eduroam,"
        "f4:db:e6:d2:a8:00,-53,eduroam,f4:db:e6:da:d0:80,-79,eduroam,78:0c:f0:24:f9:80,-82,Lions,b0:be:76:0a:05:9a,"
        "-82,tubs-guest,0,-53,0.0]",
        None,
        "heartbeat",
    ),
    # WatchFrameDecoderTest.testDecode
    _c(
        bytes.fromhex(
            "5b33472a3838303930303234322a303133442a55442c3132303632332c3134303032302c412c34382e3934393237332c4e2c2034"
            "2e333738333036302c452c31382e35362c34332e382c302e302c31322c3130302c37362c3232363132302c302c303030303030"
            "30302c322c3235352c3230342c382c333131302c35353032352c3134362c333133302c34393239372c3132342c352c42616e67"
            "696e67576966692c33343a61313a65643a65313a39313a34662c2d37312c42415220576946692c33363a61323a65313a65643a"
            "61313a64652c2d37322c4e6574776f726b576966692c32363a64653a61313a65643a65313a61302c2d37332c46696265722c33"
            "363a61313a65643a65313a39313a34662c2d37352c5b4c475f57616c6c2d4d6f756e7420412f435d653732352c36363a6131"
            "3a65643a65313a65373a32352c2d38322c31352e305d"
        ),  # a Wi-Fi name "[LG_Wall-Mount A/C]" inside the frame
        None,
        "location",
        latitude=48.949273,
        longitude=4.378306,
    ),
    _c(bytes.fromhex("5b33472a3335323636313039303134333135302a303030412a4c4b2c302c302c3130305d"), "LK", "heartbeat"),
    _c(bytes.fromhex("5b33472a383330383430363237392a303030382a72636170747572655d"), None),  # rcapture: not read
    _c(
        bytes.fromhex("5b5a4a2a3031343131313030313335303330342a303033342a303030392a4c4b2c302c302c31395d"),
        "LK",
        "heartbeat",
    ),
]

# Four frames in one read (WatchFrameDecoderTest): LK, UD, TKQ, LK of one watch.
ONE_READ = bytes.fromhex(
    "5b33472a393730353134313734302a303030392a4c4b2c302c302c35335d5b33472a393730353134313734302a303035412a55442c3139"
    "303732332c3139303730372c412c33362e3831353130392c4e2c31302e313739323331322c452c382e32342c3132372e392c32312e302c"
    "352c3130302c35332c302c302c30303030303030302c302c302c35382e305d5b33472a393730353134313734302a303030332a544b515d"
    "5b33472a393730353134313734302a303030392a4c4b2c302c302c35335d"
)
ONE_READ_ANSWERS = ["LK", "TKQ", "LK"]
ONE_READ_KINDS = ["heartbeat", "location"]  # the second LK, the same in the same second, is a duplicate

# A voice message whose AMR bytes hold `} [ ] , *`, escaped (WatchFrameDecoderTest).
VOICE = b"[CS*1234567890*000e*TK,#!AMR" + bytes.fromhex("7d017d027d037d047d05ff") + b"]"
VOICE_AUDIO = b"#!AMR" + bytes.fromhex("7d5b5d2c2aff")
