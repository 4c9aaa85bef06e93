"""Full names of people, by surname, name characters and the words around them.

Chinese full names are a surname (single or compound, from the common-surname list) and one or
two given-name characters. Scores say how sure a rule is:

- 0.85: a title or relation right before it and punctuation or a verb after it (您的朋友王小明,
  联系人李建国), or punctuation before and a reporting verb after (王小明表示);
- 0.8: a title before a three-character name whose given-name characters are common in the
  person names (nr) of jieba's dictionary (经理刘德华会…); two names in a row after a title
  (记者周敏张建华); a transliterated name joined by · (安吉丽娜·茱莉);
- 0.75: a transliterated name (温格, 范佩西) with a title before or a reporting verb after;
- 0.7: a name jieba lists as nr, followed by a reporting verb; a three-character name with
  common given-name characters at the start of a sentence or before a colon (王建华：…);
- 0.6: a name without such context, by points (`_statistical`): how often jieba's dictionary
  has its characters in people's names rather than in other words (see `_name_stats`), plus
  points for the words around it, minus points for a dictionary word across either edge
  (王小明天) or for transliteration characters; a name listed right beside another name
  (王建平、李秀英) needs fewer points, and so does a transliterated one (兰帕德、特里);
- 0.45: a three-character name with common given-name characters between other punctuation
  (below the check's default `min_score` of 0.5: about one in four is not a name).

Words jieba knows as something else (王国, 高兴, 武汉), a surname character plus a word (向记者)
and transliterated place names (马拉加, 意大利) are not names; nor is anything inside 《…》 (a title),
or a name that goes on as a place (武侯祠).
Surname + honorific (李先生, 王女士, 张总) is a way of addressing someone, not a full name, and is
left to the facts check. Whether a name is the customer's own is decided by the check, which knows
the record.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from presidio_analyzer import LocalRecognizer, RecognizerResult

from guard.checks.pii.recognizers._name_stats import NameStats, count_name_stats

__all__ = [
    "COMPOUND_SURNAMES",
    "HONORIFICS",
    "NAME_STARTS",
    "SURNAMES",
    "ChinesePersonRecognizer",
    "model_names",
    "warm_up",
]


def _words(text: str) -> tuple[str, ...]:
    """A tuple of the space-separated words of `text` (keeps long word lists compact)."""
    return tuple(text.split())


class _Affixes:
    """`str.endswith(words)` / `str.startswith(words, pos)` for a fixed word list, by one set lookup
    per word length (the lists hold up to 200 words of at most 7 characters; this is the hot path).
    Most calls end at the first test: no word ends (starts) with the character there."""

    __slots__ = ("_firsts", "_lengths", "_words", "lasts")

    def __init__(self, words: tuple[str, ...]) -> None:
        self._words = frozenset(words)
        self._lengths = tuple(sorted({len(w) for w in words}))
        self._firsts = frozenset(w[0] for w in words if w)
        self.lasts = frozenset(w[-1] for w in words if w)

    def ends(self, s: str) -> bool:
        """`s.endswith(words)`."""
        if s[-1:] not in self.lasts:
            return False
        for n in self._lengths:
            if n > len(s):
                return False
            if s[-n:] in self._words:
                return True
        return False

    def starts(self, s: str, pos: int = 0) -> bool:
        """`s.startswith(words, pos)`."""
        if s[pos : pos + 1] not in self._firsts:
            return False
        room = len(s) - pos
        for n in self._lengths:
            if n > room:
                return False
            if s[pos : pos + n] in self._words:
                return True
        return False


SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑"
    "景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝"
    "官封谈匡鞠惠荆乐冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼闻厉伊仝郜阚权帅屠豆朴盖练廉禹井祖漆巴丰支卿"
    "狄计索宣晋初敬扈晁芮邸雍辜裘亓修邰赫杭况宿逯隆茹诸慕嵇湛戎勾茅揭尉冶檀昝智幸奉植衡富尧"
    "傅萧阎赖洪"  # common surnames the list lacked (CLUENER train recall +0.3 points, same precision)
)
COMPOUND_SURNAMES = _words(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 独孤 南宫 西门 百里 呼延 轩辕 澹台 申屠 太史"
)
_COMPOUND = frozenset(COMPOUND_SURNAMES)  # for `in`: one lookup instead of 24 comparisons
HONORIFICS = _words(
    "先生 女士 小姐 总 经理 老师 太太 阿姨 师傅 老板 主任 同学 医生 律师 教授 大哥 大姐 哥 姐 叔 伯 姨 某 氏 家 们"
)
# Characters that do not occur in given names but often follow a surname character in text.
_NOT_GIVEN = frozenset(
    "一七万三上下不与且个为么九也乡了二于五些亿从他以们会但位你元八六内再分到前区十千卡县又及可右号名后向吗吧呀员呢周和哦啊嗯四在块外天太头她它对将就山岛左已市年并度很息您我或把无日时是更曾最月有村某次款氏江没河港湖湾点率百的省着示种称站等而街表被要角证说谈贷费路边过还这那部都里钱镇间非面额"
)
# Chinese numerals, plain and capital (陆仟柒佰元: 陆 is a surname, the rest an amount).
_NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟萬億")
# Characters of transliterated foreign words (桑坦德, 马拉加): a Chinese given name rarely has them.
_TRANSLIT = frozenset("乌伊加勒坡坦埃基夫夷奥姆尔拉斯特莫蒂里")
_NOT_IN_GIVEN = _NOT_GIVEN | _TRANSLIT | _NUMERALS
# Products, brands and institutions of consumer finance that look like names to the rules above
# (支 and 余 are surnames) and that jieba's dictionary does not know.
_NOT_NAMES = frozenset(
    _words(
        "支付宝 余额宝 余利宝 金条 白条 马上金融 马上消费 陆金所 乐信 华夏银行 华夏 华为 华泰 万达 苏宁 国美 易方达 "
        "安逸花 任性付 时代 宁波银行 江苏银行 招联 度小满 钱包 汇丰 花旗 渣打 东亚 富国 南方 嘉实 博时 鹏华 "
        "景顺 汇添富 广发 兴业 民生 光大 中信 浦发 平安 京东 美团 滴滴 小米 网商 微众 蚂蚁 "
    )
)
_TITLE_JOINERS = frozenset("是为叫 ")
_FIELD_LABELS = _words("姓名 名字 户名 收款人 付款人 持卡人 联系人 担保人 借款人 介绍人 推荐人 配偶 家属")
# Given names that are also dictionary words (建国 is a place-name word to jieba).
_COMMON_GIVEN_NAMES = frozenset(
    _words(
        "建国 建华 建军 建平 建民 国庆 国强 国华 国平 志强 志刚 志明 海涛 海燕 红梅 春梅 秀英 桂英 玉兰 卫东 卫国 "
        "爱国 振华 德华 文华 永红 红霞 丽华 建新 新华 建设 小红 小明 小兰 晓明 晓东 晓峰 春华 秋菊 冬梅 "
    )
)
_SENTENCE_END = frozenset("。！？!?\n")
_PUNCT = frozenset("\n !\"'(),-.:;?·—“”、。《》「」！（），：；？")
# Titles, roles and relations that stand right before a name (记者王小明, 您的朋友王小明).
_TITLES = _words(
    "记者 经理 主任 总监 总裁 董事长 秘书长 局长 主帅 部长 负责人 教授 导演 行长 教练 编辑 会长 主席 画家 队长 设计师 作家 主编 书记 学家 院长 所长 站长 市长 县长 省长 校长 "
    "厂长 处长 科长 村长 镇长 区长 社长 团长 班长 总理 总统 首相 大使 发言人 研究员 分析师 工程师 律师 医生 老师 演员 歌手 球员 选手 主持人 朋友 联系人 同事 妻子 丈夫 儿子 "
    "女儿 父亲 母亲 哥哥 姐姐 弟弟 妹妹 夫人 名叫 叫做 作者 通讯员 实习生 网友 市民 村民 患者 嫌疑人 被告人 老板 创始人 董事 合伙人 专家 博士 后卫 前锋 门将 中场 主教练 总经理 "
    "副总 经纪人 制片人 编剧 艺术家 书法家 诗人 小说家 歌星 影星 明星 冠军 得主 代表 委员 干部 警官 法官 检察官 民警 交警 队员 学生 同学 "
    "担保人 配偶 家属 亲属 家人 亲戚 邻居 介绍人 推荐人 收款人 付款人 户名 持卡人 借款人 共同借款人 专员 客服 业务员 "
    "老公 老婆 爱人 舅舅 叔叔 阿姨 姑姑 表哥 表姐 堂哥 姓名 名字 "
    "主管 助理 主角 男主角 女主角 收藏家 藏家 原名 国脚 中卫 边锋 射手 新秀 组长 馆长 司长 参谋长 "
    "扮演者 饰演者 评论员 解说员 顾问 监事 理事 理事长 法人 股东 会计 出纳 审计师 律师事务所律师"
)
# Reporting verbs and the like right after a name (王小明表示).
_STRONG_RIGHT = _words(
    "表示 说 告诉 认为 执导 介绍 指出 称 透露 等人 博士 先生 女士 坦言 强调 回忆 解释 主演 导演 教授 说道 报道 摄 笑 曾经 曾 今年 出生 生于 本人 夫妇 老师 同志 的妻子 "
    "的丈夫 的儿子 的女儿 的父亲 的母亲 "
    "生前 伤愈 复出 停赛 受伤 发自 扮演 饰演 出任 担任 当选 出席 /文 自述 坦承 承认 否认 宣布 回应 提醒 感叹"
)
# Punctuation and particles right after a name (王小明，/ 王小明的).
_WEAK_RIGHT: tuple[str, ...] = (
    *'，、：）(（。；！？”"',
    *_words("的 在 和 与 也 是 等 对 将 就 还 都 则 又 为 已 正在 同意 希望 需要"),
)
_CONJUNCTIONS = _words("和 与 及 、 跟 被 让 给 请 据 是")
# Sets, not tuples: `in` a tuple compares item by item (the tag read from the dictionary is
# never the same object as the literal), a set looks it up once.
_NAME_TAGS: frozenset[str | None] = frozenset({None, "nr", "nrfg"})
_NAME_OR_NRT: frozenset[str | None] = _NAME_TAGS | {"nrt"}
_TITLE_AFFIX = _Affixes(_TITLES)
_FIELD_LABEL_AFFIX = _Affixes(_FIELD_LABELS)
_CONJUNCTION_AFFIX = _Affixes(_CONJUNCTIONS)
_STRONG_AFFIX = _Affixes(_STRONG_RIGHT)
_WEAK_AFFIX = _Affixes(_WEAK_RIGHT)
# The characters after which `_left_kind` can say anything but "O": a colon, a title joiner, the
# last character of a title or a conjunction, punctuation. After any other, it is "O" at once.
_LEFT_NOT_O = frozenset("：:") | _TITLE_JOINERS | _TITLE_AFFIX.lasts | _CONJUNCTION_AFFIX.lasts | _PUNCT
_HONORIFIC_AFFIX = _Affixes(HONORIFICS)
# Characters of the Xinhua transliteration table for foreign names (温格, 范佩西, 安吉丽娜·茱莉).
_FOREIGN_CHARS = (
    "阿埃艾爱安昂奥巴拜班邦保鲍贝本比彼宾波伯勃布查达戴丹道德登迪蒂丁东杜敦顿多厄恩尔法范菲费芬丰弗福夫"
    "盖甘冈高戈格根古哈海汉豪赫黑亨华怀霍基吉加贾杰捷金卡凯坎康考柯科克肯库奎拉莱赖兰朗劳勒雷蕾里利莉连列"
    "林琳隆卢鲁路伦罗洛马玛麦迈曼梅门蒙米密敏莫默姆穆纳娜南内尼妮纽努诺欧帕潘庞佩彭皮平珀普齐奇乔琼丘萨塞"
    "桑瑟森沙尚舍什施史斯松苏索塔泰坦汤唐特滕廷图托瓦万威韦维温沃乌武西希锡谢辛休雅亚扬耶伊因英尤约扎泽詹"
    "朱兹佐茱丽宁佛翰涅瑞甘杭洪黎玛慕珊汀薇翁夏肖依卓荣莎琪蒂芙娅妮琼德廉黛博"
    "茨圣切堡得摩逊罕瓜提易那卜撒契彻赛丝萝珍荷迦哇吕伍"
)
# Both scanning patterns below begin with one character class, so that the scan skips ahead by
# that class (re's prefix scan) instead of trying the whole pattern at every position (an
# alternation at the front defeats the scan). Written that way they match what the plain forms
# match, in the same order: `[F]{1,6}(?:[·•][F]{1,8})+|[F]{2,6}` for `_FOREIGN`, and
# `(?:欧阳|司马|…|[SURNAMES])[\u4e00-\u9fff]{1,2}` for `_CANDIDATES` (each compound surname as its
# first character, then its second followed by a lookbehind over both — `阳(?<=欧阳)`: re skips a
# branch that starts with another literal at once, where a branch opening with a lookbehind is
# tried, which made the 24 compound surnames half of the scan; a single surname as an empty
# lookbehind).
# `_CANDIDATES` consumes only the first character and reads the rest in a lookahead, group 1: one
# `finditer` lists the candidate at every start position, overlapping ones included (任何问 and
# 何问题), where a `search` from each start cost a call and a scanner set-up per candidate.
# Checked at every start position of CLUENER train and dev and of 20,000 random strings of these
# characters: the same spans (tests/checks/pii/recognizers/test_person.py keeps that check).
_FOREIGN = re.compile(
    f"[{_FOREIGN_CHARS}](?:[{_FOREIGN_CHARS}]{{0,5}}(?:[·•][{_FOREIGN_CHARS}]{{1,8}})+|[{_FOREIGN_CHARS}]{{1,5}})"
)
# Characters a person's name can start with, for the trained tagger: a clause with none of them is
# not tagged. On CLUENER train, 13 of the tagger's 1,689 names started with another character
# once 傅萧阎赖洪 joined the surnames and 溥雒濮 this set.
NAME_STARTS = frozenset(SURNAMES | {s[0] for s in COMPOUND_SURNAMES} | set(_FOREIGN_CHARS) | set("溥雒濮"))
_BYLINE_REST = re.compile("[\u4e00-\u9fff]{1,2}[）)]")
_CANDIDATES = re.compile(
    "["
    + "".join(sorted(SURNAMES | {s[0] for s in COMPOUND_SURNAMES}))
    + "](?=((?:"
    + "|".join(f"{s[1:]}(?<={s})" for s in COMPOUND_SURNAMES)
    + "|(?<=["
    + "".join(sorted(SURNAMES))
    + "]))[\u4e00-\u9fff]{1,2}))"
)


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """jieba's word → part-of-speech table and the given-name characters it implies."""

    tags: dict[str, str]
    given: frozenset[str]  # characters seen in given names (top 1,500 of jieba's nr names)
    given_common: frozenset[str]  # the 400 most common of them
    foreign: frozenset[str]  # characters of jieba's transliterated names (nrt), top 400
    stats: NameStats  # per-character name statistics (see _name_stats)


_lock = threading.Lock()
_lexicon: _Lexicon | None = None


def _load_lexicon() -> _Lexicon:
    """Build the lexicon once per process from jieba's dictionary (~1 s; only when names are checked)."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                import jieba.posseg  # local import: policies without name checks never load it

                tags: dict[str, str] = dict(jieba.posseg.dt.word_tag_tab)
                stats = count_name_stats(_dictionary_entries(jieba.posseg.dt.tokenizer), SURNAMES)
                counts: Counter[str] = Counter()
                for word, tag in tags.items():
                    if tag == "nr" and len(word) == 3 and word[0] in SURNAMES:
                        counts.update(word[1:])
                ranked = [ch for ch, _ in counts.most_common(1500)]
                foreign: Counter[str] = Counter()
                for word, tag in tags.items():
                    if tag == "nrt" and len(word) >= 3:
                        foreign.update(word)
                foreign_chars = frozenset(ch for ch, _ in foreign.most_common(400)) - _NOT_GIVEN
                _lexicon = _Lexicon(tags, frozenset(ranked), frozenset(ranked[:400]), foreign_chars, stats)
    return _lexicon


def _dictionary_entries(tokenizer: Any) -> Iterator[tuple[str, int, str]]:
    """(word, frequency, tag) of every line of jieba's dictionary file, streamed."""
    with tokenizer.get_dict_file() as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) == 3 and parts[1].isdigit():
                yield parts[0], int(parts[1]), parts[2]


def warm_up() -> None:
    """Load the lexicon now (at policy load) rather than on the first reply with a candidate."""
    _load_lexicon()


def _left_kind(text: str, start: int) -> str:
    """B: text start or punctuation; T: a title or relation; C: a conjunction; O: anything else."""
    if start and text[start - 1] not in _LEFT_NOT_O:
        return "O"
    left = text[max(0, start - 7) : start]
    if left[-1:] in "：:":
        if _FIELD_LABEL_AFFIX.ends(left[:-1]):
            return "T"  # a form field: 收款人：孙丽娟 (but not an interview: 主持人：谢谢)
    elif left[-1:] in _TITLE_JOINERS:
        left = left[:-1]  # 联系人是李建国
    if _TITLE_AFFIX.ends(left):
        return "T"
    if start == 0 or text[start - 1] in _PUNCT:
        return "B"
    if _CONJUNCTION_AFFIX.ends(left):
        return "C"
    return "O"


def _right_kind(text: str, end: int) -> str:
    """S: a reporting verb; W: punctuation, a particle or the end; O: anything else."""
    if end >= len(text):
        return "W"
    if _STRONG_AFFIX.starts(text, end):
        return "S"
    if _WEAK_AFFIX.starts(text, end):
        return "W"
    return "O"


def _widen_dotted(text: str, start: int, stop: int, lex: _Lexicon) -> tuple[int, int]:
    """Widen a dotted name over transliteration characters the core set lacks (西摩尔·霍夫曼)."""
    for _ in range(3):
        if start == 0 or text[start - 1] not in lex.foreign or text[:start].endswith(_TITLES):
            break
        start -= 1
    for _ in range(3):
        if stop >= len(text) or text[stop] not in lex.foreign or text.startswith(_STRONG_RIGHT, stop):
            break
        stop += 1
    return start, stop


def _foreign(text: str, m: re.Match[str], lex: _Lexicon) -> float | None:
    """Score of a transliterated foreign name, or None (dotted names, or titles and verbs around)."""
    name = m.group(0)
    if "·" in name or "•" in name:
        return 0.8
    if len(name) > 5 or lex.tags.get(name) not in _NAME_TAGS:
        return None  # too long, or a known word (意大利, 马来西亚 are places)
    left, right = _left_kind(text, m.start()), _right_kind(text, m.end())
    if (left == "T" and right in "SW") or (left in "BC" and right == "S"):
        return 0.75
    return None


_COMMON_WORD_TAGS = frozenset({"n", "ns", "nt", "vn"})
_LEADING_WORD_TAGS = frozenset({"n", "ns", "nt", "vn", "v", "d", "a", "ad", "p", "c"})


def _plausible_given(given: str, lex: _Lexicon) -> bool:
    """Every character common in given names, and not a common word (记者, 武汉)."""
    if not all(ch in lex.given and ch not in _NOT_GIVEN and ch not in _TRANSLIT for ch in given):
        return False
    return len(given) < 2 or lex.tags.get(given) not in _COMMON_WORD_TAGS


def _next_is_name(text: str, start: int, lex: _Lexicon) -> int | None:
    """End of a surname + one or two common given-name characters at `start`, then punctuation or a verb."""
    if text[start : start + 1] not in SURNAMES:
        return None
    for n in (2, 1):
        given = text[start + 1 : start + 1 + n]
        if (
            len(given) == n
            and all(ch in lex.given_common for ch in given)
            and _plausible_given(given, lex)
            and lex.tags.get(text[start : start + 1 + n]) in _NAME_TAGS
            and _right_kind(text, start + 1 + n) in "SW"
        ):
            return start + 1 + n
    return None


def _next_name_in_byline(text: str, given: str, stop: int) -> bool:
    """The last given-name character is the surname of a second name closing a byline (王刚李静）)."""
    return len(given) == 2 and given[-1] in SURNAMES and _BYLINE_REST.match(text, stop) is not None


def _byline_name_at(text: str, i: int) -> int | None:
    """The end of a surname and one or two characters closing a byline at `i` (…张建华）)."""
    if text[i : i + 1] not in SURNAMES:
        return None
    m = _BYLINE_REST.match(text, i + 1)
    return None if m is None else m.end() - 1


def _judge(text: str, start: int, end: int, lex: _Lexicon, left: str) -> tuple[int, float] | None:
    """The end of the name starting at `start` and its score, or None when it is no name.

    `left` is `_left_kind(text, start)`.
    """
    tags = lex.tags
    surname_len = 2 if text[start : start + 2] in _COMPOUND else 1
    if left == "O" and (end != start + surname_len + 2 or tags.get(text[start:end]) != "nr"):
        # Inside running text the loop below names only a two-character given name that the
        # dictionary lists as a person (nr) before a reporting verb: nothing else can come of it.
        # (Tested first: it rules out nearly every candidate there, with one lookup in jieba's
        # table or none for a short one; the 349 k words of that table miss the CPU caches.)
        return None
    if left in "OC" and start > 0 and tags.get(text[start - 1 : start + 1]) not in _NAME_TAGS:
        return None  # the surname character belongs to the word before it (由于, 长江)
    for stop in range(end, start + surname_len, -1):  # the longer name first
        name = text[start:stop]
        given = name[surname_len:]
        if not _NOT_IN_GIVEN.isdisjoint(given) or _HONORIFIC_AFFIX.starts(given):
            continue
        if len(given) == 2 and given[-1] == name[0] and text.startswith(HONORIFICS, stop):
            continue  # 孙丽孙女士: the last character is the surname again, in an address form
        if text[stop : stop + 1] in ("·", "•") or (start > 0 and text[start - 1] in "·•"):
            continue  # part of a transliterated foreign name
        tag = tags.get(name)
        if tag not in _NAME_TAGS or name in _NOT_NAMES:
            continue  # a common word (王国, 高兴, 方法) or a finance brand (支付宝)
        if (
            len(given) == 2
            and tag is None
            and given not in _COMMON_GIVEN_NAMES
            and (
                tags.get(given) in _COMMON_WORD_TAGS
                or tags.get(name[: surname_len + 1]) in _LEADING_WORD_TAGS
            )
        ):
            continue  # surname character + a word (向记者, 谈武汉, 朱博士), or a word + one (成长中)
        if stop < len(text) and tags.get(text[stop - 1 : stop + 1]) not in _NAME_TAGS:
            continue  # the name would swallow the start of the next word (王小明天 → 明天)
        if _next_name_in_byline(text, given, stop):
            continue
        right = _right_kind(text, stop)
        if (
            left == "T"
            and len(given) == 1
            and (_next_is_name(text, stop, lex) is not None or _byline_name_at(text, stop) is not None)
        ):
            return stop, 0.8  # two names in a row after a title (记者周敏张建华)
        if left == "T" and right in "SW":
            return stop, 0.85
        if left in "BC" and right == "S":
            return stop, 0.85
        if len(given) == 2 and all(ch in lex.given for ch in given):
            if left == "T":
                return stop, 0.8
            if (
                right == "W"
                and left in "BC"
                and (tag == "nr" or (left == "B" and all(ch in lex.given_common for ch in given)))
            ):
                # At the start of a sentence, or before a colon (王建华：…), this is a name nine
                # times in ten; elsewhere four in five.
                if start == 0 or text[start - 1] in _SENTENCE_END or text[stop : stop + 1] in "：:":
                    return stop, 0.7
                return stop, 0.45
            if right == "S" and tag == "nr":
                return stop, 0.7
    return None


# The statistical path (a name with no rule-confirming context): points for the words around the
# candidate, a penalty for a one-character given name (many more non-names), for a dictionary
# word across either edge (王小明天 → 明天), and for transliteration characters. A candidate is a
# name from `_STAT_MIN` points. Chosen on CLUENER *train*; nothing from the data set is stored.
_STAT_LEFT = {"T": 3.0, "B": 0.5, "C": 0.5, "O": 0.0}
_STAT_RIGHT = {"S": 3.0, "W": 1.0, "O": 0.0}
_STAT_ONE_CHAR = -2.0
_STAT_CROSSING = -3.0
_STAT_FOREIGN = 2.0
_STAT_MIN = 4.0
_STAT_NOT_GIVEN = -3.0
_STAT_LIST = 3.0  # fewer points needed right beside a name, joined by 、/和/与 (王建平、李秀英)
_STAT_WORD_GIVEN = -2.0  # the given name is a common word (向记者)
_STAT_SPEAKER = 2.0  # a name opening a sentence before a colon: who speaks (郑丽娟：我觉得…)
# The most the context can add, per left kind (the speaker's points need a sentence start: "B").
_STAT_BEST_CONTEXT = {
    left: points + max(_STAT_RIGHT.values()) + (_STAT_SPEAKER if left == "B" else 0.0)
    for left, points in _STAT_LEFT.items()
}
_LIST_JOINERS = frozenset("、和与及")
_LISTED_SCORE = 0.6
_FOREIGN_LISTED = 4.0  # transliteration points of a foreign name named only beside another name
# Characters that make a preceding name part of a place or institution (张自忠路, 岳飞庙).
_PLACE_AFTER = frozenset("祠寺庙观庵陵墓路街巷道区市县省镇乡村山河湖岛桥楼馆院园宫殿塔站港湾厦店")
_NOT_AFTER_NAME = _PLACE_AFTER | frozenset("·•")
# Last characters that make the candidate itself a place (武侯祠, 岳王庙).
_PLACE_END = frozenset("祠寺庙庵陵墓路街巷区市县省镇乡村馆宫殿塔站港厦店")


def _all_cjk(s: str) -> bool:
    """`re.fullmatch("[\u4e00-\u9fff]+", s)`, without the regex call (one or two characters here)."""
    for ch in s:
        if not "\u4e00" <= ch <= "\u9fff":
            return False
    return bool(s)


def _crosses(text: str, i: int, tags: dict[str, str]) -> bool:
    """A dictionary word other than a name spans position `i` (starts before it, ends after it)."""
    if i <= 0 or i >= len(text):
        return False
    for a, b in ((i - 1, i + 1), (i - 2, i + 1), (i - 1, i + 2)):
        if a >= 0 and b <= len(text) and tags.get(text[a:b]) not in _NAME_TAGS:
            return True
    return False


def _foreign_like(text: str, start: int, stop: int, lex: _Lexicon) -> bool:
    """A run of transliteration characters that may be a foreign name (not a known place or word)."""
    name = text[start:stop]
    if "·" in name or "•" in name or not 2 <= len(name) <= 5 or any(ch in _NUMERALS for ch in name):
        return False
    if lex.tags.get(name) not in _NAME_OR_NRT or text[stop : stop + 1] in _PLACE_AFTER:
        return False
    return lex.stats.foreignness(name) >= _FOREIGN_LISTED


def _statistical(text: str, start: int, lex: _Lexicon, left: str) -> tuple[int, float] | None:
    """The end and points of the most name-like surname + given name at `start`, if any.

    The characters are scored first; the context (titles, verbs, dictionary words across the
    edges) only for candidates that could still reach the points that matter with it: `_STAT_MIN`,
    or `_STAT_MIN - _STAT_LIST` beside a list joiner (only there can `_add_listed` name a weak
    candidate). Returns None when no candidate at `start` can reach them.
    `left` is `_left_kind(text, start)`.
    """
    surname_len = 2 if text[start : start + 2] in _COMPOUND else 1
    stats = lex.stats
    # The dicts themselves, not their bound `get`: compiled, `d.get(k, v)` on a typed dict is one
    # C call, a bound method is an object made per reply and called through the generic protocol.
    given_pts, foreign_pts, floor = stats.given, stats.foreign, stats.floor
    surname_points = stats.surname.get(text[start], 0.0) if surname_len == 1 else 0.0
    g = start + surname_len
    # Points of the characters, before the penalties: one given-name character or two.
    first = surname_points + given_pts.get(text[g : g + 1], floor)
    best_context = _STAT_BEST_CONTEXT[left]
    bound = first + max(given_pts.get(text[g + 1 : g + 2], floor), _STAT_ONE_CHAR) + best_context
    if bound < _STAT_MIN - _STAT_LIST:
        return None  # the given-name characters alone rule out a name (是, 融, 在 …), listed or not
    if _HONORIFIC_AFFIX.starts(text, g) or (start > 0 and text[start - 1] in "·•"):
        return None  # 张先生, 王总: an address form, the facts check's business; or 杰夫·莫雷尔
    listable = (start > 0 and text[start - 1] in _LIST_JOINERS) or not _LIST_JOINERS.isdisjoint(
        text[g + 1 : g + 3]
    )
    need = _STAT_MIN - _STAT_LIST if listable else _STAT_MIN
    if bound < need:
        return None
    best: tuple[int, float] | None = None
    for n in (2, 1):
        stop = start + surname_len + n
        name = text[start:stop]
        given = name[surname_len:]
        if stop > len(text) or not _all_cjk(given) or text[stop : stop + 1] in _NOT_AFTER_NAME:
            continue  # 张自忠路: a road named after someone; or 马龙·白兰度
        if given[-1] in _PLACE_END or not _NUMERALS.isdisjoint(given):
            continue  # 武侯祠: a place named after someone; 陆仟柒佰元: an amount
        points = surname_points + (_STAT_ONE_CHAR if n == 1 else 0.0)
        foreignness = foreign_pts.get(name[0], 0.0) + (foreign_pts.get(name[1], 0.0) if surname_len == 2 else 0.0)
        for ch in given:
            points += given_pts.get(ch, floor)
            foreignness += foreign_pts.get(ch, 0.0)
            if ch in _NOT_GIVEN:
                points += _STAT_NOT_GIVEN
        if foreignness > 0:
            points -= _STAT_FOREIGN * foreignness
        if points + best_context < need:
            continue  # no context can make it a name
        if len(given) == 2 and given[-1] == name[0] and _HONORIFIC_AFFIX.starts(text, stop):
            continue  # 孙丽孙女士: the last character is the surname again, in an address form
        if _next_name_in_byline(text, given, stop):
            continue
        tag = lex.tags.get(name)
        if tag not in _NAME_TAGS or name in _NOT_NAMES:
            continue
        if (
            n == 2
            and tag is None
            and given not in _COMMON_GIVEN_NAMES
            and lex.tags.get(given) in _COMMON_WORD_TAGS
        ):
            points += _STAT_WORD_GIVEN  # a surname character + a word (向记者, 谈武汉)
        right = _right_kind(text, stop)
        points += _STAT_LEFT[left] + _STAT_RIGHT[right]
        if left in "OC" and _crosses(text, start, lex.tags):
            points += _STAT_CROSSING
        if _crosses(text, stop, lex.tags):
            points += _STAT_CROSSING
        if (
            left == "B"
            and text[stop : stop + 1] in "：:"
            and (start == 0 or text[start - 1] in _SENTENCE_END)
        ):
            points += _STAT_SPEAKER
        if best is None or points > best[1]:
            best = (stop, points)
    return best


class ChinesePersonRecognizer(LocalRecognizer):
    """人名: surname + given name, confirmed by titles, reporting verbs and jieba's dictionary."""

    ENTITY: ClassVar[str] = "CN_PERSON"
    CODE: ClassVar[str] = "pii.person"
    LABEL: ClassVar[str] = "他人姓名"
    CONTEXT: ClassVar[tuple[str, ...]] = _TITLES + _STRONG_RIGHT

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY], supported_language="zh", name="ChinesePersonRecognizer"
        )

    def load(self) -> None:
        """Nothing to load at construction; the lexicon loads once, on first use or `warm_up`."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        """Names of people in `text`, scored 0.45–0.85 (see the module docstring)."""
        out: list[RecognizerResult] = []
        candidates = list(_CANDIDATES.finditer(text))  # (start, end(1)) at every start position
        foreign = _FOREIGN.search(text)
        if not candidates and foreign is None:
            return out  # no surname and no transliteration: the lexicon is never touched
        lex = _load_lexicon()
        weak: list[tuple[int, int]] = []  # name-like, but only named when listed beside a name
        while foreign is not None:
            score = _foreign(text, foreign, lex)
            start, stop = foreign.start(), foreign.end()
            if score is not None and ("·" in foreign.group(0) or "•" in foreign.group(0)):
                start, stop = _widen_dotted(text, start, stop, lex)
            if score is not None:
                out.append(RecognizerResult(self.ENTITY, start, stop, score))
            elif _foreign_like(text, start, stop, lex):
                weak.append((start, stop))
            foreign = _FOREIGN.search(text, stop)
        taken = [(r.start, r.end) for r in out]
        resume = 0  # after a name, the next candidate starts at its end or later
        for m in candidates:
            start = m.start()
            if start < resume or (taken and any(a <= start < b for a, b in taken)):
                continue
            left = _left_kind(text, start)
            hit = _judge(text, start, m.end(1), lex, left)
            if hit is None and out and out[-1].end == start:
                second = _next_is_name(text, start, lex) or _byline_name_at(text, start)
                hit = None if second is None else (second, 0.8)
            if hit is None:
                stat = _statistical(text, start, lex, left)
                if stat is not None and stat[1] >= _STAT_MIN:
                    hit = (stat[0], 0.6)
                elif stat is not None and stat[1] >= _STAT_MIN - _STAT_LIST:
                    weak.append((start, stat[0]))
            if hit is None:
                continue
            stop, score = hit
            out.append(RecognizerResult(self.ENTITY, start, stop, score))
            resume = stop
        _add_listed(text, out, weak, self.ENTITY)
        out = [r for r in out if not _in_title(text, r.start)]
        out.sort(key=lambda r: r.start)
        return out


def _add_listed(text: str, out: list[RecognizerResult], weak: list[tuple[int, int]], entity: str) -> None:
    """Name the weak candidates listed right beside a name (王建平、李秀英、冯超然; 兰帕德、特里).

    Weak candidates are the borderline ones of `_statistical` and `_foreign_like`, and rule hits
    scored below the check's default `min_score`; only names at or above it count as neighbours.
    """
    low = [r for r in out if r.score < _LISTED_SCORE]
    cands = [(r.start, r.end) for r in low] + [
        (a, b) for a, b in weak if not any(a < r.end and r.start < b for r in out)
    ]
    named = [(r.start, r.end) for r in out if r.score >= _LISTED_SCORE]
    changed = True
    while changed and cands:
        changed = False
        for a, b in list(cands):
            if any(
                (end == a - 1 and text[end] in _LIST_JOINERS) or (b == start - 1 and text[b] in _LIST_JOINERS)
                for start, end in named
            ):
                cands.remove((a, b))
                named.append((a, b))
                for r in low:
                    if (r.start, r.end) == (a, b):
                        out.remove(r)
                out.append(RecognizerResult(entity, a, b, _LISTED_SCORE))
                changed = True


def _in_title(text: str, start: int) -> bool:
    """Inside 《…》: a book, film or product title, not a person (《哈利·波特》, 《梅兰芳》)."""
    opened = text.rfind("《", 0, start)
    return opened >= 0 and text.find("》", opened, start) < 0


# -- names from the trained tagger (`person_model: lac`) ----------------------------------------

_SPLIT_AT = frozenset("、，,。；;")
_TRIM = _PUNCT | frozenset("【】…/~")


def model_names(text: str, spans: Iterable[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """The tagger's names that are a person's full name by this module's conventions.

    A span is split at a list comma or full stop inside it (王刚、李静) and trimmed of punctuation;
    then dropped when shorter than two characters, surname + honorific (张总, 王女士: the facts
    check's business), 老王 / 小李, inside 《…》 (a title), or a word jieba's dictionary knows as
    something other than a name (徐州, 白卷).
    """
    tags = _load_lexicon().tags
    out: list[tuple[int, int, float]] = []
    for start, end, prob in spans:
        parts: list[tuple[int, int]] = []
        a = start
        for k in range(start, end):
            if text[k] in _SPLIT_AT:
                parts.append((a, k))
                a = k + 1
        parts.append((a, end))
        for a, b in parts:
            while a < b and text[a] in _TRIM:
                a += 1
            while b > a and text[b - 1] in _TRIM:
                b -= 1
            name = text[a:b]
            if len(name) < 2 or _in_title(text, a):
                continue
            surname = 2 if name[:2] in _COMPOUND else 1
            if name[surname:].startswith(HONORIFICS) and (surname == 2 or name[0] in SURNAMES):
                continue
            if name[0] in "老小" and len(name) == 2:
                continue
            if tags.get(name) not in _NAME_OR_NRT:
                continue
            out.append((a, b, prob))
    return out
