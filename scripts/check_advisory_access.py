"""Before `make audit`: can the online advisory databases be reached at all?

pip-audit and npm audit both look every dependency up online. Offline they would retry for
minutes and then fail with a stack trace or a vague network error; this check fails at once,
saying why, instead. Usage: check_advisory_access.py SECONDS URL...
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def unreachable(url: str, seconds: float) -> str | None:
    """Why `url` cannot be reached, or None when it answers (any HTTP status counts)."""
    headers = {"User-Agent": "postwizard-audit"}
    request = urllib.request.Request(url, method="GET", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=seconds):  # noqa: S310 - URLs from the Makefile
            return None
    except urllib.error.HTTPError:
        return None  # it answered: the network is there
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return f"no answer within {seconds:g} s"
        return str(reason)
    except OSError as error:
        return str(error)


def main(argv: list[str]) -> int:
    seconds, urls = float(argv[0]), argv[1:]
    problems = [(url, why) for url in urls if (why := unreachable(url, seconds)) is not None]
    for url, why in problems:
        print(f"make audit: cannot reach {url}: {why}", file=sys.stderr)
    if problems:
        print(
            "make audit needs internet access: pip-audit and npm audit look the dependencies up "
            "in online advisory databases (PyPI/OSV and the npm registry). Run it where those "
            "can be reached (proxy settings such as HTTPS_PROXY are honoured).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
