"""Full names of people, by surname, name characters and the words around them.

Chinese full names are a surname (single or compound, from the common-surname list) and one or
two given-name characters. A candidate counts when a role or relation word stands right before it
(您的朋友王小明, 联系人李建国, 经理刘德华) or a reporting word right after it (王小明说, 李建国表示),
or when jieba's dictionary knows it as a person name (nr) and does not know it as a common word.
Surname + honorific (李先生, 王女士, 张总) is a way of addressing someone, not a full name, and is
left to the facts check. Whether a name is the customer's own is decided by the check, which knows
the record.
"""

from __future__ import annotations

import re
import threading
from typing import Any, ClassVar

from presidio_analyzer import LocalRecognizer, RecognizerResult

__all__ = ["COMPOUND_SURNAMES", "HONORIFICS", "SURNAMES", "ChinesePersonRecognizer", "warm_up"]

SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝"
    "官封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝郜阚权帅屠豆朴盖练廉禹井祖漆巴丰支卿"
    "狄计索宣晋初敬扈晁芮邸雍辜裘亓修邰赫杭况宿逯隆茹诸慕嵇湛戎勾茅揭尉冶檀昝智幸奉植衡富尧"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
    "令狐", "端木", "独孤", "南宫", "西门", "百里", "呼延", "轩辕", "澹台", "申屠", "太史",
)
HONORIFICS = (
    "先生", "女士", "小姐", "总", "经理", "老师", "太太", "阿姨", "师傅", "老板", "主任", "同学", "医生",
    "律师", "教授", "大哥", "大姐", "哥", "姐", "叔", "伯", "姨", "某", "氏", "家", "们",
)
# Characters that do not occur in given names but often follow a surname character in text.
_NOT_GIVEN = set(
    "的了是在有和与及或等说也都就还要会可这那个们我你他她它您吗呢吧啊呀哦嗯么着过被把将对向从到于以为"
    "而且但并又再很最更太已曾没不无非一二三四五六七八九十百千万亿元块角分年月日时号天周次位名点种些"
    "上下左右前后内外中里间边面头部市省区县镇乡村路街道号楼室门口家人员工作业务款贷借还钱额度息费率卡证"
    "某氏，。！？、；：,.!?;: 「」“”‘’（）()《》"
)

_LEFT_CUES = (
    "朋友", "联系人", "紧急联系人", "担保人", "经理", "客户经理", "同事", "主任", "老师", "教授", "记者", "总裁",
    "董事长", "主席", "导演", "演员", "球员", "教练", "医生", "律师", "专员", "代表", "家属", "配偶", "妻子",
    "丈夫", "儿子", "女儿", "父亲", "母亲", "哥哥", "姐姐", "弟弟", "妹妹", "作者", "歌手", "市长", "局长",
    "书记", "总经理", "主持人", "选手", "队员", "院长", "校长", "厂长", "处长", "科长", "行长", "部长",
    "委员", "研究员", "分析师", "工程师", "学生", "村民", "市民", "网友", "嫌疑人", "被告", "原告", "法官",
    "名叫", "叫做", "姓名", "名字是", "介绍人", "推荐人", "收款人", "户名", "持卡人", "亲属", "邻居",
    "先生", "女士", "前辈", "大师", "画家", "作家", "诗人", "演员", "明星", "队长", "主教练", "前锋",
)
_RIGHT_CUES = (
    "说", "表示", "认为", "称", "指出", "透露", "介绍", "告诉", "强调", "回忆", "坦言", "解释", "建议",
    "先生", "女士", "老师", "教授", "经理", "主任", "同志", "等人", "本人", "曾", "也", "在接受", "的电话",
    "的手机", "的账户", "的银行卡", "的身份证", "夫妇", "一家", "和他", "和她", "告诉记者",
)
_GIVEN = r"(?:(?![" + re.escape("".join(sorted(_NOT_GIVEN))) + r"])[\u4e00-\u9fff])"
_CANDIDATE = re.compile(
    "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])" + _GIVEN + "{1,2}"
)
_LEFT_TUPLE = tuple(set(_LEFT_CUES))
_RIGHT_TUPLE = tuple(set(_RIGHT_CUES))
_LEFT_JOINERS = "：:是为叫 "


def _left_cue(left: str) -> bool:
    if left and left[-1] in _LEFT_JOINERS:
        left = left[:-1]
    return left.endswith(_LEFT_TUPLE)
_PUNCT_AROUND = "，。！？、；：,.!?;:（）()“”\"' \n"

_jieba_lock = threading.Lock()
_jieba_words: dict[str, str] | None = None


def _dictionary() -> dict[str, str]:
    """jieba's word → part-of-speech table, loaded once per process on first need (~1 s)."""
    global _jieba_words
    if _jieba_words is None:
        with _jieba_lock:
            if _jieba_words is None:
                import jieba.posseg  # local import: replies without a name candidate never load it

                table: dict[str, str] = dict(jieba.posseg.dt.word_tag_tab)
                _jieba_words = table
    return _jieba_words


class ChinesePersonRecognizer(LocalRecognizer):  # type: ignore[misc]
    """人名: surname + given name, confirmed by context or by jieba's dictionary."""

    ENTITY: ClassVar[str] = "CN_PERSON"
    CODE: ClassVar[str] = "pii.person"
    LABEL: ClassVar[str] = "姓名"
    CONTEXT: ClassVar[tuple[str, ...]] = _LEFT_CUES + _RIGHT_CUES
    PREFILTER: ClassVar[re.Pattern[str]] = _CANDIDATE

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.ENTITY], supported_language="zh", name="ChinesePersonRecognizer")

    def load(self) -> None:
        """Nothing to load at construction; jieba's table loads lazily on the first candidate."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        """Names in `text`, scored 0.85 with context and 0.6 from the dictionary alone."""
        out: list[RecognizerResult] = []
        pos = 0
        while True:
            m = _CANDIDATE.search(text, pos)
            if m is None:
                break
            hit = self._judge(text, m.start(), m.end())
            if hit is None:
                pos = m.start() + 1
                continue
            start, end, score = hit
            out.append(RecognizerResult(self.ENTITY, start, end, score))
            pos = end
        return out

    def _judge(self, text: str, start: int, end: int) -> tuple[int, int, float] | None:
        surname_len = 2 if text[start : start + 2] in COMPOUND_SURNAMES else 1
        left = text[max(0, start - 6) : start]
        if left and "\u4e00" <= left[-1] <= "\u9fff" and not _left_cue(left):
            # Inside a longer run of characters with no role word before it: most likely a word.
            left_ok = False
        else:
            left_ok = _left_cue(left)
        words = _dictionary()
        # Try the longer name first, then the shorter one.
        for stop in range(end, start + surname_len, -1):
            name = text[start:stop]
            given = name[surname_len:]
            if any(given.startswith(h) for h in HONORIFICS):
                continue
            right = text[stop : stop + 6]
            tag = words.get(name)
            right_ok = right.startswith(_RIGHT_TUPLE) or (not right or right[0] in _PUNCT_AROUND)
            if tag is not None and tag not in ("nr", "nrfg"):
                continue  # a common word (王国, 高兴, 方法)
            # Does the name swallow the start of a following word (王小明天 → 明天)?
            if stop < len(text) and len(given) == 2 and words.get(text[stop - 1 : stop + 1]) not in (None, "nr"):
                continue
            if left_ok and (right_ok or len(given) == 2):
                return start, stop, 0.85
            if right.startswith(_RIGHT_TUPLE) and len(given) == 2 and (not left or not ("\u4e00" <= left[-1] <= "\u9fff")):
                return start, stop, 0.85
            if tag in ("nr", "nrfg") and len(name) >= 3 and right_ok and (not left or left[-1] in _PUNCT_AROUND or left_ok):
                return start, stop, 0.6
        return None


def warm_up() -> None:
    """Load jieba's dictionary now (at policy load) rather than on the first reply with a name."""
    _dictionary()
