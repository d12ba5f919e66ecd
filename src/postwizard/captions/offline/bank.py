"""The offline assistant's phrase bank: openings, questions, calls to action and sign-offs per
tone, written the way people write posts, plus the emoji that go with a topic.

Openings ending in ':' lead into the headline ("Big news: our class starts Saturday."); the
others are sentences of their own. `{audience}` and `{day}` are filled from the brief; a phrase
needing one is used only when the brief has it.
"""

from __future__ import annotations

from postwizard.captions.offline.brief import Category
from postwizard.captions.providers import Tone

OPENINGS: dict[Tone, tuple[str, ...]] = {
    Tone.FRIENDLY: (
        "Good news!",
        "Guess what?",
        "Some happy news:",
        "We've got something for you:",
        "This one made our week.",
        "Hello, friends!",
        "Calling all {audience}!",
        "{Audience}, this one's for you.",
        "Quick one for the {audience} out there:",
        "You asked, we listened:",
    ),
    Tone.PROFESSIONAL: (
        "We're pleased to share an update:",
        "Announcement:",
        "An update for our community:",
        "For your calendar:",
        "Worth knowing:",
        "For {audience}:",
        "A note for {audience}:",
        "We're glad to announce this:",
        "We have news to share.",
        "A quick update from our team.",
    ),
    Tone.WITTY: (
        "Plot twist:",
        "Breaking (our own) news:",
        "Not to be dramatic, but",
        "PSA:",
        "Small announcement, big feelings:",
        "Clear your schedule. Or don't. But maybe do:",
        "Attention, {audience}:",
        "{Audience}, we see you.",
        "File under \u201cthings you'll thank us for\u201d:",
    ),
    Tone.BOLD: (
        "It's here.",
        "Big news:",
        "This is the one.",
        "Don't miss this:",
        "Mark your calendar:",
        "Stop scrolling.",
        "{Audience}, listen up:",
        "Ready? Here it is:",
    ),
    Tone.INFORMATIVE: (
        "Quick update:",
        "Good to know:",
        "Here's what you need to know:",
        "In short:",
        "The essentials:",
        "For {audience}, the short version:",
        "What's new:",
        "Here's a quick one.",
        "Worth a minute of your time.",
    ),
}

# Questions that open a post, per kind of news; `{day}` only when the brief names a day.
QUESTIONS: dict[Category, tuple[str, ...]] = {
    Category.EVENT: (
        "Free on {day}?",
        "Got plans for {day}?",
        "Want to learn something new?",
        "Looking for something to do this week?",
    ),
    Category.LAUNCH: (
        "Ready for something new?",
        "Want a first look?",
        "Been waiting for this one?",
    ),
    Category.SALE: (
        "Who doesn't love a good deal?",
        "Been eyeing something for a while?",
        "Treat yourself?",
    ),
    Category.HIRING: (
        "Looking for your next role?",
        "Know someone great?",
        "Want to build something with us?",
    ),
    Category.ARTICLE: (
        "Want a few tips that actually work?",
        "Ever wondered how?",
        "Got five minutes?",
    ),
    Category.MILESTONE: (
        "Can you believe it?",
        "Remember where it all started?",
        "Guess what we're celebrating?",
    ),
    Category.UPDATE: (
        "Have you heard?",
        "Got a minute?",
        "Did you know?",
    ),
}

# Calls to action before a link, per kind of news, then per tone.
LINK_ACTIONS: dict[Category, tuple[str, ...]] = {
    Category.EVENT: ("Save your seat", "Book your place", "Sign up here", "All the details"),
    Category.LAUNCH: ("Take a look", "See what's new", "Try it out", "Find out more"),
    Category.SALE: ("Shop the sale", "Grab yours", "Browse the collection", "Shop now"),
    Category.HIRING: ("Apply here", "See the role", "Read the job description"),
    Category.ARTICLE: ("Read it here", "Read the full piece", "Have a read"),
    Category.MILESTONE: ("Read the story", "Celebrate with us", "See how it started"),
    Category.UPDATE: ("Read more", "Find out more", "The details"),
}
TONE_LINK_ACTIONS: dict[Tone, tuple[str, ...]] = {
    Tone.FRIENDLY: ("Come have a look", "Everything's here"),
    Tone.PROFESSIONAL: ("Learn more", "Full details"),
    Tone.WITTY: ("The link won't bite", "Go on, click it"),
    Tone.BOLD: ("Don't wait", "Get in now"),
    Tone.INFORMATIVE: ("Everything you need to know", "Full details"),
}

# Closing lines without a link: invite a reply or a share.
SIGN_OFFS: dict[Tone, tuple[str, ...]] = {
    Tone.FRIENDLY: (
        "Who's in?",
        "Tag a friend who'd love this.",
        "Let us know what you think!",
        "We'd love to see you there.",
        "Tell us in the comments!",
    ),
    Tone.PROFESSIONAL: (
        "We look forward to hearing your thoughts.",
        "Questions are welcome in the comments.",
        "Feel free to share this with your network.",
        "We'd be glad to hear from you.",
    ),
    Tone.WITTY: (
        "You know what to do.",
        "Consider this your sign.",
        "Your future self says thanks.",
        "Tell a friend. Or don't, more for you.",
    ),
    Tone.BOLD: (
        "Don't miss it.",
        "Don't sleep on this.",
        "Share this now.",
        "Your move.",
    ),
    Tone.INFORMATIVE: (
        "Save this for later.",
        "Share it with someone who needs it.",
        "Questions? Ask below.",
        "Bookmark this one.",
    ),
}
# Instagram captions cannot link; people point to the profile instead.
LINK_IN_BIO = ("Link in bio.", "The link is in our bio.", "Find the link in our bio.")

STORY_LEADS: dict[Tone, tuple[str, ...]] = {
    Tone.FRIENDLY: (
        "We've been working on this for a while, and it's finally happening:",
        "We couldn't wait to tell you:",
    ),
    Tone.PROFESSIONAL: (
        "After months of preparation, we're ready to share it:",
        "Here's what our team has been working on:",
    ),
    Tone.WITTY: (
        "We tried to keep it a secret. We failed:",
        "Our group chat has talked about nothing else:",
    ),
    Tone.BOLD: (
        "We've been building up to this:",
        "No more waiting:",
    ),
    Tone.INFORMATIVE: (
        "Here's the background:",
        "Something we get asked a lot about:",
    ),
}

# Emoji that match a topic word (first match wins), and a tone's own.
TOPIC_EMOJI: tuple[tuple[frozenset[str], str], ...] = tuple(
    (frozenset(words.split()), emoji)
    for words, emoji in (
        ("bread sourdough loaf loaves bakery baking bake baker", "\U0001f35e"),
        ("croissant croissants pastry pastries", "\U0001f950"),
        ("cake cakes birthday", "\U0001f382"),
        ("coffee espresso latte cafe café", "\u2615"),
        ("tea", "\U0001f375"),
        ("pizza", "\U0001f355"),
        ("wine tasting vineyard", "\U0001f377"),
        ("beer brewery", "\U0001f37a"),
        (
            "food menu dinner lunch breakfast brunch recipe recipes cooking restaurant",
            "\U0001f37d\ufe0f",
        ),
        ("plant plants houseplants garden gardening flowers", "\U0001fab4"),
        ("book books reading library novel", "\U0001f4da"),
        ("music concert gig album song band", "\U0001f3b6"),
        ("art gallery exhibition painting", "\U0001f3a8"),
        ("photo photos photography camera", "\U0001f4f8"),
        ("video videos film movie", "\U0001f3ac"),
        ("podcast episode", "\U0001f399\ufe0f"),
        ("launch launching rocket release", "\U0001f680"),
        ("app software code coding developer developers engineer api python", "\U0001f4bb"),
        ("sale discount deal deals offer", "\U0001f3f7\ufe0f"),
        ("shop store shopping", "\U0001f6cd\ufe0f"),
        ("hiring job jobs role career team", "\U0001f91d"),
        ("workshop class course learn lesson training", "\U0001f393"),
        ("webinar talk conference meetup", "\U0001f3a4"),
        ("anniversary celebrate celebrating milestone", "\U0001f389"),
        ("winter snow", "\u2744\ufe0f"),
        ("summer sun beach", "\u2600\ufe0f"),
        ("spring", "\U0001f338"),
        ("autumn fall", "\U0001f342"),
        ("run running fitness gym workout yoga", "\U0001f3c3"),
        ("travel trip flight", "\u2708\ufe0f"),
        ("dog dogs puppy", "\U0001f436"),
        ("cat cats", "\U0001f431"),
        ("money finance budget savings", "\U0001f4b0"),
        ("data report research study", "\U0001f4ca"),
        ("tips guide advice", "\U0001f4a1"),
        ("newsletter email", "\U0001f4ec"),
        ("event events festival party", "\U0001f4c5"),
        ("community volunteers charity", "\U0001f49b"),
    )
)
TONE_EMOJI: dict[Tone, tuple[str, ...]] = {
    Tone.FRIENDLY: ("\U0001f60a", "\U0001f64c", "\u2728", "\U0001f49b"),
    Tone.PROFESSIONAL: ("\U0001f4cc",),
    Tone.WITTY: ("\U0001f440", "\U0001f643", "\U0001f60f"),
    Tone.BOLD: ("\U0001f525", "\u26a1", "\U0001f4a5"),
    Tone.INFORMATIVE: ("\U0001f4a1", "\U0001f4cc"),
}
POINTER = {True: "\U0001f449", False: "\u2192"}  # before a link: 👉 with emoji, → without
BULLET = {True: "\u2705", False: "\u2022"}  # list items: ✅ with emoji, • without
