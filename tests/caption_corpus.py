"""Briefs that are hard to fit: long links, emoji, CJK, many hashtags, one endless word...
Shared by the fitting tests and the captions bench (a fixed set: the same briefs every run)."""

from __future__ import annotations

import itertools
import random

from postwizard.captions.providers import Brief, Length, Tone

LONG_URL = (
    "https://shop.example.com/collections/spring-ceramics/products/hand-thrown-stoneware-mug"
    "?variant=4451928374&utm_source=postwizard&utm_medium=social&utm_campaign=spring_sale_2026"
)
TOPICS = (
    "new sourdough workshop for beginners starts Saturday at the bakery on Main Street; learn to "
    "shape loaves, feed a starter and bake at home",
    "Announce our spring sale: 20% off all ceramics until Sunday 🎉🏺✨",
    "write a post about our 10th anniversary. Thank customers for a decade of support",
    "We're hiring a backend engineer (Python, PostgreSQL) - remote in Europe, apply by Friday",
    "東京の新しいパン屋さんが土曜日にオープンします。焼きたてのクロワッサンと季節のタルトをご用意しています。",
    "我们的新咖啡馆本周六开业，欢迎大家来品尝手冲咖啡和自制蛋糕！",  # noqa: RUF001 - CJK and typographic punctuation on purpose
    "새로운 요가 수업이 다음 주 월요일에 시작됩니다. 초보자도 환영합니다!",
    "Launch day",
    "tips for keeping houseplants alive in winter: water less, give them more light, and keep "
    "them away from drafts",
    "Our podcast episode 42 with @jane_doe and @bob.smith is out: how we grew a newsletter to "
    "10,000 readers #podcast #newsletter #growth #marketing #creators",
    "#sale #ceramics #handmade #pottery #stoneware #mugs #gifts #spring #shopsmall #design "
    "#homedecor #kitchen #coffee #tea #makers #craft #art #studio #local #sustainable "
    "#slowliving #interiors #tableware #ceramicart #clay #wheelthrown #glaze #kiln #potter "
    "#pottersofinstagram #ceramicstudio #handmadeceramics new mugs are in",
    "Family emoji test 👨‍👩‍👧‍👦 and flags 🇩🇪🇫🇷🇯🇵 and skin tones 👋🏽👍🏿 at our community picnic this Sunday",
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 8 + " is a long word for a lung disease",
    "Read the full report at " + LONG_URL + " and tell us what you think",
    "Conference talk recap: " + " ".join(["distributed systems, observability, and on-call"] * 12),
    "Café crème brûlée naïve façade — accents everywhere in our new menu, voilà",
    "مرحبا بكم في متجرنا الجديد في دبي، افتتاح يوم الجمعة",
    "Livestream tonight at 8pm CET: building a Svelte 5 app from scratch, live Q&A after",
    "We reached 100k followers 🎉 thank you all, here's a giveaway: comment to win a mug",
    "Webinar on data privacy for small businesses, GDPR basics, cookie banners and consent logs",
)
TONES = tuple(Tone)
LENGTHS = tuple(Length)
HASHTAG_COUNTS = (0, 3, 10, 30)
LINKS = ("", "https://example.com/a", LONG_URL)
CTAS = ("", "Book your seat", "Shop the spring collection before it is gone")
AUDIENCES = ("", "home bakers", "small business owners in the Berlin area")


def tricky_briefs() -> list[Brief]:
    """Every topic, each with a different mix of the hard parts (deterministic)."""
    rng = random.Random(20261122)
    briefs = []
    for topic in TOPICS:
        for _ in range(3):
            briefs.append(_brief(topic, rng))
    return briefs


def fixed_briefs(count: int) -> list[Brief]:
    """`count` briefs cycling through the topics with seeded choices: the bench's fixed set."""
    rng = random.Random(7)
    topics = itertools.cycle(TOPICS)
    return [_brief(next(topics), rng) for _ in range(count)]


def _brief(topic: str, rng: random.Random) -> Brief:
    return Brief(
        topic=topic,
        audience=rng.choice(AUDIENCES),
        tone=rng.choice(TONES),
        length=rng.choice(LENGTHS),
        hashtags=rng.choice(HASHTAG_COUNTS),
        emoji=rng.random() < 0.7,
        call_to_action=rng.choice(CTAS),
        link=rng.choice(LINKS),
    )
