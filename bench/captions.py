"""AI captions: the offline assistant's latency per request (3 variants, fitted to X, LinkedIn and
Bluesky), and fitting compliance over a fixed set of 200 tricky briefs on every network (must be
100%: every variant and every per-network version passes the network's own limits)."""

from __future__ import annotations

import asyncio
import sys
import time

from common import REPO_ROOT, BenchResult, percentile, row

sys.path.insert(0, str(REPO_ROOT))

from postwizard.captions.fitting import FitTarget
from postwizard.captions.offline import OfflineAssistant
from postwizard.captions.providers import GenerateRequest, VoiceProfile
from postwizard.captions.service import CaptionContext, Fitter, ResolvedProvider
from postwizard.platforms.limits import MediaFacts, check
from postwizard.platforms.networks import Network
from tests.caption_corpus import fixed_briefs

NAME = "captions"
LATENCY_REQUESTS = 300
COMPLIANCE_BRIEFS = 200
VARIANTS = 3
THREE_NETWORKS = [FitTarget(Network.X), FitTarget(Network.LINKEDIN), FitTarget(Network.BLUESKY)]
EVERY_TARGET = [FitTarget(network) for network in Network] + [
    FitTarget(Network.TELEGRAM, with_media=True),
    FitTarget(Network.INSTAGRAM, with_media=True),
    FitTarget(Network.MASTODON, overrides={"max_characters": 140}),
]
TEXT_RULES = {
    "text_too_long",
    "text_too_many_bytes",
    "too_many_hashtags",
    "too_many_mentions",
    "too_many_links",
}
PICTURE = [MediaFacts("image/jpeg", 200_000, 1080, 1080)]


def context(targets: list[FitTarget]) -> CaptionContext:
    provider = ResolvedProvider(OfflineAssistant(), "offline", None)
    return CaptionContext(provider, VoiceProfile(), targets)


async def one_request(ctx: CaptionContext, brief: object, seed: int) -> list[object]:
    """What `POST /captions/generate` does with the offline assistant, minus HTTP and storage."""
    request = GenerateRequest(
        brief=brief,  # type: ignore[arg-type]
        networks=list(ctx.budgets),
        budgets=ctx.budgets,
        count=VARIANTS,
        seed=seed,
    )
    generated = await ctx.provider.generate(request)
    fitter = Fitter(ctx)
    return [await fitter.variant(i, d) for i, d in enumerate(generated.drafts)]


def fits(target: FitTarget, text: str) -> bool:
    media = PICTURE if target.with_media else []
    problems = check(target.network, text, media, overrides=target.overrides or None)
    return bool(text.strip()) and not [p for p in problems if p.rule in TEXT_RULES]


async def measure(result: BenchResult) -> None:
    briefs = fixed_briefs(COMPLIANCE_BRIEFS)
    three = context(THREE_NETWORKS)
    started = time.perf_counter()
    await one_request(three, briefs[0], 0)  # imports YAKE (and numpy) once
    cold_ms = (time.perf_counter() - started) * 1000
    latencies = []
    for n in range(LATENCY_REQUESTS):
        began = time.perf_counter()
        await one_request(three, briefs[n % len(briefs)], n)
        latencies.append((time.perf_counter() - began) * 1000)
    note = f"{VARIANTS} variants fitted to X, LinkedIn and Bluesky; {LATENCY_REQUESTS} requests, one core"
    result.rows += [
        row("offline assistant p50", round(percentile(latencies, 0.5), 2), "ms", note),
        row("offline assistant p99", round(percentile(latencies, 0.99), 2), "ms", "same requests"),
        row("offline assistant first request", round(cold_ms, 1), "ms", "includes importing YAKE"),
    ]

    every = context(EVERY_TARGET)
    texts = fitting = trimmed = 0
    for seed, brief in enumerate(briefs):
        for variant in await one_request(every, brief, seed):
            checks = [(t, variant.text) for t in EVERY_TARGET]  # type: ignore[attr-defined]
            checks += list(zip(EVERY_TARGET, (v.text for v in variant.versions), strict=True))  # type: ignore[attr-defined]
            texts += len(checks)
            fitting += sum(fits(target, text) for target, text in checks)
            trimmed += sum(v.trimmed for v in variant.versions)  # type: ignore[attr-defined]
    share = 100 * fitting / texts
    result.rows += [
        row(
            "fitting compliance",
            round(share, 2),
            "%",
            f"{fitting:,} of {texts:,} texts fit ({COMPLIANCE_BRIEFS} fixed briefs x {VARIANTS} "
            f"variants, base text and version on {len(EVERY_TARGET)} targets)",
        ),
        row(
            "versions trimmed by fitting",
            trimmed,
            "texts",
            "the rest fitted as written (parts left out before any cut)",
        ),
    ]
    if fitting != texts:
        raise RuntimeError(f"fitting compliance is {share:.2f}%, not 100%")


def run() -> BenchResult:
    result = BenchResult(NAME)
    asyncio.run(measure(result))
    return result
