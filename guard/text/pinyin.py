"""Character readings (pinyin) for name comparison, without pypinyin's phrase dictionary.

Names are compared character by character, so the ~50 MB phrase dictionary that pypinyin loads by
default buys nothing here; `PYPINYIN_NO_PHRASES` keeps it out of every serving process (it must be
set before pypinyin is first imported, which is why every guard module imports pypinyin from here).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

from pypinyin import Style, lazy_pinyin, pinyin

__all__ = ["Style", "lazy_pinyin", "pinyin"]
