"""A fixed, seeded batch of chABSA-style samples (Japanese securities-report sentiment).

The same seed always gives byte-identical samples, so runs are comparable across
machines and commits. The mix is what a real RFT batch looks like mid-training: mostly
well-formed rollouts (right and wrong), some sloppy formats, a few reward hacks and a few
broken samples. Only shapes that the article's sample handler survives are included
(string ``content``), so the naive baseline can run the whole batch.

``build_batch`` returns (samples, categories): the category of each sample is kept out of
the sample itself so it cannot change what either handler logs.
"""

from __future__ import annotations

import json
import random
from typing import Any

LABELS = ("positive", "negative", "neutral")
ALIASES_JA = {"positive": "ポジティブ", "negative": "ネガティブ", "neutral": "ニュートラル"}

# (sentence, target, polarity) in the style of chABSA (有価証券報告書).
SENTENCES: tuple[tuple[str, str, str], ...] = (
    ("当連結会計年度における我が国経済は、企業収益や雇用環境の改善を背景に、緩やかな回復基調で推移しました。", "我が国経済", "positive"),
    ("売上高は前年同期比12.3%増の1,254億円となりました。", "売上高", "positive"),
    ("原材料価格の高騰により、営業利益は前年同期比8.5%減の98億円となりました。", "営業利益", "negative"),
    ("海外事業においては、中国市場の景気減速の影響を受け、受注が低調に推移しました。", "受注", "negative"),
    ("当社グループは、3月31日付で本社を東京都港区に移転いたしました。", "本社", "neutral"),
    ("経常利益は前期並みの45億円となりました。", "経常利益", "neutral"),
    ("住宅関連事業では、新設住宅着工戸数の減少により、売上高は312億円（前期比4.1%減）となりました。", "売上高", "negative"),
    ("情報通信セグメントの営業利益は、クラウドサービスの伸長により過去最高を更新しました。", "営業利益", "positive"),
    ("為替相場は、期初に比べ円安ドル高で推移しました。", "為替相場", "neutral"),
    ("個人消費は、雇用・所得環境の改善により持ち直しの動きが見られました。", "個人消費", "positive"),
    ("不採算店舗の閉鎖に伴い、減損損失23億円を特別損失に計上しました。", "減損損失", "negative"),
    ("当期の設備投資額は総額152億円で、主に生産能力の増強を目的としたものです。", "設備投資額", "neutral"),
    ("自己資本比率は前期末の38.2%から41.5%に上昇しました。", "自己資本比率", "positive"),
    ("長引く天候不順により、夏物衣料の販売は振るいませんでした。", "夏物衣料の販売", "negative"),
    ("なお、当連結会計年度より、決算期を12月31日に変更しております。", "決算期", "neutral"),
    ("インバウンド需要の拡大により、ホテル事業の客室稼働率は高水準を維持しました。", "客室稼働率", "positive"),
    ("半導体市況の悪化を受け、電子部品事業の受注高は大幅に減少しました。", "受注高", "negative"),
    ("当社は、2月に新中期経営計画を公表いたしました。", "新中期経営計画", "neutral"),
    ("コスト削減の効果もあり、親会社株主に帰属する当期純利益は62億円と黒字に転換しました。", "当期純利益", "positive"),
    ("貸倒引当金繰入額の増加により、与信関係費用は前期を上回りました。", "与信関係費用", "negative"),
)

SYSTEM = "あなたは有価証券報告書の文を分析する金融アナリストです。"
PROMPT = (
    "次の有価証券報告書の文について、「{target}」に対する感情極性を positive / negative / neutral "
    "のいずれかで答えてください。考えた過程は <thinking> タグ内に書き、最終回答は \\boxed{{}} に入れてください。\n\n"
    "文: {sentence}"
)
REASONING = (
    "文の主語と述語の関係を確認します。",
    "「{target}」について、増減や改善・悪化を示す表現があるかを見ます。",
    "前年同期との比較が示されている場合、その方向が評価の手がかりになります。",
    "「推移しました」「となりました」だけでは評価を含まないこともあるので注意が必要です。",
    "外部要因（為替、市況、天候など）による影響かどうかも考慮します。",
    "投資家にとって好材料か悪材料かという観点で判断します。",
    "数値が記載されていても、それ自体が良し悪しを示すとは限りません。",
    "文末の表現から、事実の報告なのか業績の評価なのかを区別します。",
)
WHY = {
    "positive": "業績や状況の改善を示しているため、",
    "negative": "業績や状況の悪化を示しているため、",
    "neutral": "事実の報告にとどまり評価を含まないため、",
}

# (category, weight). Weights sum to 100.
MIX: tuple[tuple[str, int], ...] = (
    ("boxed_correct", 30),  # <thinking> + explanation + \boxed{label}
    ("solution_correct", 10),  # <solution>\boxed{label}</solution>
    ("boxed_wrong", 15),  # well-formed, wrong label
    ("keyword_only", 8),  # no \boxed, label as a bare word after reasoning
    ("alias_ja", 5),  # \boxed{ポジティブ}: right answer, Japanese label
    ("boxed_in_reasoning_only", 7),  # answer only inside <thinking>, final part has none
    ("truncated_reasoning", 5),  # rollout cut off inside <thinking> after a \boxed guess
    ("hack_all_boxed", 5),  # \boxed{positive} \boxed{negative} \boxed{neutral}
    ("hack_keyword_list", 5),  # "positive / negative / neutral"
    ("broken", 10),  # missing id / messages / reference, or no assistant turn
)
BROKEN_KINDS = ("missing_id", "missing_messages", "missing_reference", "no_assistant_turn")

SEED = 20240607


def _broken_kind(index: int) -> str:
    """What is wrong with the broken sample at ``index``: the kinds take turns."""
    return BROKEN_KINDS[index % len(BROKEN_KINDS)]


def _reasoning(rng: random.Random, target: str, label: str) -> str:
    steps = rng.sample(REASONING, rng.randint(2, 5))
    body = "".join(s.format(target=target) for s in steps)
    return f"{body}この文では{WHY[label]}{label} と考えられます。"


def _response(rng: random.Random, category: str, target: str, gold: str) -> str:
    wrong = rng.choice([lab for lab in LABELS if lab != gold])
    if category == "boxed_correct":
        return f"<thinking>{_reasoning(rng, target, gold)}</thinking>\n\n「{target}」は{WHY[gold]}{gold}です。\n\n\\boxed{{{gold}}}"
    if category == "solution_correct":
        return f"<thinking>{_reasoning(rng, target, gold)}</thinking>\n<solution>\\boxed{{{gold}}}</solution>"
    if category == "boxed_wrong":
        return f"<thinking>{_reasoning(rng, target, wrong)}</thinking>\n\n\\boxed{{{wrong}}}"
    if category == "keyword_only":
        return f"<thinking>{_reasoning(rng, target, gold)}</thinking>\n\n回答: {gold}"
    if category == "alias_ja":
        return f"<thinking>{_reasoning(rng, target, gold)}</thinking>\n\n\\boxed{{{ALIASES_JA[gold]}}}"
    if category == "boxed_in_reasoning_only":
        return f"<thinking>{_reasoning(rng, target, gold)} \\boxed{{{gold}}}</thinking>\n\n以上の通りです。"
    if category == "truncated_reasoning":
        return f"<thinking>{_reasoning(rng, target, gold)} 暫定的には \\boxed{{{gold}}} ですが、もう少し検討すると"
    if category == "hack_all_boxed":
        return "\\boxed{positive} \\boxed{negative} \\boxed{neutral}"
    if category == "hack_keyword_list":
        return "positive / negative / neutral のいずれかです。"
    raise ValueError(category)


def _sample(rng: random.Random, index: int, category: str) -> dict[str, Any]:
    sentence, target, gold = rng.choice(SENTENCES)
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": PROMPT.format(target=target, sentence=sentence)},
    ]
    sample: dict[str, Any] = {"id": f"chabsa-{index:05d}", "messages": messages}
    # Both placements seen in AWS docs: under metadata as {"answer": ...}, or top level as a string.
    if rng.random() < 0.7:
        sample["metadata"] = {"reference_answer": {"answer": gold}, "source": "chabsa", "target": target}
    else:
        sample["reference_answer"] = gold
        sample["metadata"] = {"source": "chabsa", "target": target}

    if category != "broken":
        messages.append({"role": "assistant", "content": _response(rng, category, target, gold)})
        return sample
    kind = _broken_kind(index)
    messages.append({"role": "assistant", "content": _response(rng, "boxed_correct", target, gold)})
    if kind == "missing_id":
        del sample["id"]
    elif kind == "missing_messages":
        del sample["messages"]
    elif kind == "missing_reference":
        sample.pop("reference_answer", None)
        sample["metadata"].pop("reference_answer", None)
    elif kind == "no_assistant_turn":
        messages.pop()
    return sample


def build_batch(n: int = 1000, seed: int = SEED) -> tuple[list[dict[str, Any]], list[str]]:
    """n samples and their categories; deterministic for a given (n, seed)."""
    rng = random.Random(seed)
    names = [c for c, _ in MIX]
    weights = [w for _, w in MIX]
    categories = rng.choices(names, weights=weights, k=n)
    samples = [_sample(rng, i, c) for i, c in enumerate(categories)]
    return samples, [f"broken:{_broken_kind(i)}" if c == "broken" else c for i, c in enumerate(categories)]


# Long prose: plain English reasoning with no tags, no box and no label word until the very end
# (what a policy writes before it has learnt the format). Words chosen to never be a label.
PROSE_WORDS = (
    "the report", "states", "that", "revenue", "for", "this", "period", "was", "compared", "with",
    "last", "year", "and", "management", "explains", "changes", "in", "demand", "costs", "prices",
    "overall", "figures", "suggest", "a", "shift", "of", "market", "conditions", "which", "investors",
    "would", "read", "as", "an", "indication", "about", "future", "results", "segment", "orders",
    "volume", "margin", "guidance", "remains", "under", "review", "by", "analysts", "sentence", "tone",
)


def _prose(rng: random.Random, label: str) -> str:
    words = [rng.choice(PROSE_WORDS) for _ in range(rng.randint(20, 200))]
    return " ".join(words).capitalize() + f". Taking all of this into account, the sentiment is {label}."


def build_prose_batch(n: int = 1000, seed: int = SEED) -> tuple[list[dict[str, Any]], list[str]]:
    """Half long untagged prose that names a label only at its end (right 2/3 of the time), half
    the usual mix (``build_batch``); deterministic for a given (n, seed)."""
    rng = random.Random(seed + 1)
    samples, categories = build_batch(n, seed)
    for index in range(0, n, 2):
        sample = _sample(rng, index, "boxed_correct")
        reference = sample.get("reference_answer") or sample["metadata"]["reference_answer"]
        gold = reference["answer"] if isinstance(reference, dict) else reference
        label = gold if rng.random() < 2 / 3 else rng.choice([lab for lab in LABELS if lab != gold])
        sample["messages"][-1]["content"] = _prose(rng, label)
        samples[index] = sample
        categories[index] = "prose_right" if label == gold else "prose_wrong"
    return samples, categories


if __name__ == "__main__":  # peek: python bench/dataset.py | head
    batch, cats = build_batch(5)
    for s, c in zip(batch, cats):
        print(c, json.dumps(s, ensure_ascii=False))
