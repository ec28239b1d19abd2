"""Words too common to say anything about a complaint, in English and Chinese."""

from __future__ import annotations

_ENGLISH = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further get got had has have having he her here hers herself him himself his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours
yourself yourselves it's i'm don't didn't doesn't isn't wasn't can't won't one two item
product really even still much many well bought buy ordered order
"""

_CHINESE = """
的 了 是 我 你 他 她 它 们 我们 你们 他们 这 那 这个 那个 就 都 也 还 很 太 非常
真 真的 有 没 没有 在 和 与 及 或 但 但是 而 而且 就是 不是 不 吗 吧 呢 啊 呀 哦 嗯
一 一个 个 次 件 买 买了 给 让 被 把 对 说 又 再 才 已经 可以 能 会 要 想 觉得 感觉
东西 商品 产品 还是 自己 什么 怎么 这样 那样 因为 所以 如果 虽然 只 只是 更 最 比较
一点 有点 一些 之后 以后 时候 收到 到 上 下 里 中
"""

ENGLISH = frozenset(_ENGLISH.split())
CHINESE = frozenset(_CHINESE.split())
