"""Chinese surnames: the common single-character ones and the compound ones, and confusables.

Characters that are far more often function words than surnames in a reply (和, 向, 都, 也,
那, 时, 从, 以, 由, 能, 应, 及, 与, 对, 给, 让, 被, 把, 在, 的, 是, 老, 小, 位, 但, 元, 来,
相, 国, 计, 信, 门, 全, 原, 海, 平, 利) are left out on purpose: before 先生/女士 they would read
这位先生 or 您和先生 as a surname.
"""

from __future__ import annotations

__all__ = ["COMPOUND_SURNAMES", "CONFUSABLE", "SURNAMES", "SURNAME_RANK"]

# Most common first.
_BY_FREQUENCY = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓"
    "古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣"
    "巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满"
    "闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙"
    "浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干"
    "但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
_NOT_SURNAMES = "和向都也那时从以由能应及与对给让被把在的是老小位但元来相国计信门全原海平利"
SURNAMES = frozenset(_BY_FREQUENCY).difference(_NOT_SURNAMES)
# How common a surname is: 0 for 王, larger for rarer ones (明, 华, 文 are more often given names).
SURNAME_RANK: dict[str, int] = {}
for _i, _c in enumerate(c for c in _BY_FREQUENCY if c in SURNAMES):
    SURNAME_RANK.setdefault(_c, _i)

COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
        "夏侯", "轩辕", "令狐", "钟离", "闻人", "澹台", "公冶", "太史", "端木", "申屠", "南宫", "西门",
        "独孤", "百里", "呼延", "东郭", "拓跋", "赫连", "司空", "万俟", "濮阳", "单于", "第五",
    }
)

# Characters a model (or a speech-to-text step) confuses with each other by shape or sound.
_GROUPS = (
    "张章彰樟", "王汪玉主", "李季理里", "刘柳留浏", "陈程成晨辰", "杨扬阳洋汤", "黄皇凰煌", "赵照昭",
    "吴武伍午", "周舟州洲", "徐许旭", "孙荪逊", "马玛码吗", "朱珠株诸", "胡湖糊", "郭国锅", "林琳霖淋",
    "飞非菲斐妃", "芳方仿坊", "丽莉俐力立", "伟玮炜纬", "敏闵悯", "静晶婧靖", "强墙蔷", "军君均钧",
    "磊垒蕾", "洋阳杨", "勇永涌", "艳燕雁", "杰洁捷", "娟鹃涓", "涛滔韬", "明铭鸣名", "华桦骅", "平萍苹",
    "刚钢纲", "红宏虹鸿洪", "辉晖挥", "霞侠", "峰锋丰枫", "欣昕馨新心", "婷亭庭", "雪薛", "梅玫媚",
)
CONFUSABLE: dict[str, frozenset[str]] = {}
for _g in _GROUPS:
    for _c in _g:
        CONFUSABLE[_c] = CONFUSABLE.get(_c, frozenset()) | frozenset(_g)
